package temporalengine

import (
	"context"
	"errors"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/chant-run/chant/internal/temporalconf"
)

// Connection, the defaults and the patience are temporalconf's: chant
// resolves them without the SDK.
type Connection = temporalconf.Connection

const (
	DefaultQueue    = temporalconf.DefaultQueue
	DefaultNS       = temporalconf.DefaultNS
	DefaultPatience = temporalconf.DefaultPatience
)

// Open connects to the workflow of the pipeline p. With wait, it waits
// for a cluster out of reach (p.Patience), saying so there, and so does
// the engine; without, an unreachable cluster is an error.
func Open(ctx context.Context, p *temporalconf.Pipeline, wait io.Writer) (*Engine, error) {
	dial := func() (client.Client, error) { return Dial(p.Conn) }
	if wait != nil {
		dial = func() (client.Client, error) { return DialWaiting(ctx, p.Conn, p.Patience, wait) }
	}
	cl, err := dial()
	if err != nil {
		return nil, err
	}
	return &Engine{Client: cl, Address: p.Conn.Address, Namespace: p.Conn.Namespace, WorkflowID: WorkflowID(p.Repo, p.Branch),
		Input: PipelineInput{Repo: p.Repo, Branch: p.Branch, Queue: p.Queue, Heartbeat: p.Heartbeat}, Log: wait, Patience: p.Patience}, nil
}

// TellGate tells the pipeline's workflow of a gate decision just
// committed, and returns the workflow told ("" when no workflow runs).
// The decision stands whatever happens here: the run reads it from the
// spec file.
func TellGate(p *temporalconf.Pipeline, id, status, by string) (string, error) {
	e, err := Open(context.Background(), p, nil)
	if err != nil {
		return "", err // out of reach
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err = e.Gate(ctx, id, status, by); errors.Is(err, ErrNoWorkflow) {
		return "", nil
	}
	return e.WorkflowID, err
}
