package temporalengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// Settings are what a command's flags say of the engine: where phases
// run and how to reach the cluster. Resolve merges them over the
// environment and the config.
type Settings struct {
	Engine, Address, Namespace, Queue, Repo           string
	Heartbeat, Wait                                   time.Duration
	TLSCert, TLSKey, TLSCA, TLSServerName, APIKeyFile string
}

// usage is a setting's mistake: the user's to fix.
func usage(err error) error { return fault.Classify(fault.Input, err) }

// Resolve merges the settings (a command's flags) over the environment (the Temporal CLI's
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
// TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY) over the
// config (cfg may be nil): what is secret or local to a machine stays out
// of the committed config.
func (f Settings) Resolve(cfg *spec.Config) (engine string, conn Connection, queue, repo string, heartbeat time.Duration, err error) {
	engine, queue, repo, heartbeat = f.Engine, f.Queue, f.Repo, f.Heartbeat
	conn.Address = cmp.Or(f.Address, os.Getenv("TEMPORAL_ADDRESS"))
	conn.Namespace = cmp.Or(f.Namespace, os.Getenv("TEMPORAL_NAMESPACE"))
	if cfg != nil {
		engine = cmp.Or(engine, cfg.Engine)
		conn.Address = cmp.Or(conn.Address, cfg.Temporal.Address)
		conn.Namespace = cmp.Or(conn.Namespace, cfg.Temporal.Namespace)
		queue = cmp.Or(queue, cfg.Temporal.TaskQueue)
		repo = cmp.Or(repo, cfg.Temporal.Repo)
		if heartbeat == 0 && cfg.Temporal.Heartbeat != "" {
			if heartbeat, err = time.ParseDuration(cfg.Temporal.Heartbeat); err != nil {
				return "", conn, "", "", 0, &spec.Error{Path: cfg.Path, Msg: fmt.Sprintf("temporal.heartbeat: %v", err)}
			}
		}
	}
	engine = cmp.Or(engine, spec.EngineLocal)
	switch engine {
	case spec.EngineLocal, spec.EngineTemporal:
	default:
		return "", conn, "", "", 0, usage(fmt.Errorf("--engine %s: not an engine (local or temporal)", engine))
	}
	if f.Wait < 0 {
		return "", conn, "", "", 0, usage(fmt.Errorf("--wait %s: not a duration to wait (0: until stopped)", f.Wait))
	}
	if heartbeat < 0 || heartbeat > 0 && heartbeat < time.Second {
		return "", conn, "", "", 0, usage(fmt.Errorf("--heartbeat %s: at least 1s", heartbeat))
	}
	conn.Namespace = cmp.Or(conn.Namespace, DefaultNS)
	queue = cmp.Or(queue, DefaultQueue)
	conn.TLSCert = cmp.Or(f.TLSCert, os.Getenv("TEMPORAL_TLS_CERT"))
	conn.TLSKey = cmp.Or(f.TLSKey, os.Getenv("TEMPORAL_TLS_KEY"))
	conn.TLSCA = cmp.Or(f.TLSCA, os.Getenv("TEMPORAL_TLS_CA"))
	conn.TLSServerName = cmp.Or(f.TLSServerName, os.Getenv("TEMPORAL_TLS_SERVER_NAME"))
	if (conn.TLSCert == "") != (conn.TLSKey == "") {
		return "", conn, "", "", 0, usage(fmt.Errorf("--tls-cert and --tls-key go together"))
	}
	conn.APIKey = os.Getenv("TEMPORAL_API_KEY")
	if f.APIKeyFile != "" {
		data, err := os.ReadFile(f.APIKeyFile)
		if err != nil {
			return "", conn, "", "", 0, usage(fmt.Errorf("--api-key-file: %w", err))
		}
		conn.APIKey = strings.TrimSpace(string(data))
	}
	if engine == spec.EngineTemporal && conn.Address == "" {
		return "", conn, "", "", 0, usage(fmt.Errorf("the temporal engine needs the cluster's address: --address HOST:PORT, TEMPORAL_ADDRESS, or temporal.address in .chant/config.md"))
	}
	return engine, conn, queue, repo, heartbeat, nil
}

// Pipeline connects to the workflow of the pipeline of repo's branch, for
// the temporal engine; nil for the local engine. With wait, it waits for a
// cluster out of reach (--wait), saying so there,
// and so does the engine; without, an unreachable cluster is an error.
func (f Settings) Pipeline(ctx context.Context, cfg *spec.Config, repo *gitrepo.Repo, identity string, wait io.Writer) (*Engine, error) {
	engine, conn, queue, repoURL, heartbeat, err := f.Resolve(cfg)
	if err != nil || engine != spec.EngineTemporal {
		return nil, err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	if repoURL == "" {
		repoURL = repo.Root
	}
	conn.Identity = identity
	if host, err := os.Hostname(); err == nil {
		conn.Identity += " on " + host
	}
	dial := func() (client.Client, error) { return Dial(conn) }
	if wait != nil {
		dial = func() (client.Client, error) {
			return DialWaiting(ctx, conn, f.Wait, wait)
		}
	}
	cl, err := dial()
	if err != nil {
		return nil, err
	}
	patience := f.Wait
	if patience == 0 {
		patience = math.MaxInt64 // until stopped
	}
	return &Engine{Client: cl, Address: conn.Address, WorkflowID: WorkflowID(repoURL, head.String()),
		Input: PipelineInput{Repo: repoURL, Branch: head.String(), Queue: queue, Heartbeat: heartbeat}, Log: wait, Patience: patience}, nil
}

// TellGate tells the pipeline's workflow, if the workspace runs on
// Temporal, of a gate decision just committed, and returns the workflow
// told ("" with the local engine, or no workflow running). The decision
// stands whatever happens here: the run reads it from the spec file.
func TellGate(cfg *spec.Config, repo *gitrepo.Repo, id, status, by string) (string, error) {
	var f Settings
	e, err := f.Pipeline(context.Background(), cfg, repo, "chant "+map[bool]string{true: "approve", false: "reject"}[status == "approved"], nil)
	if e == nil || err != nil {
		return "", err // local, or out of reach
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err = e.Gate(ctx, id, status, by); errors.Is(err, ErrNoWorkflow) {
		return "", nil
	}
	return e.WorkflowID, err
}
