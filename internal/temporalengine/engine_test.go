package temporalengine

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/runner/phase"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// fakeCluster is the part of a client the run's side of the engine uses:
// the workflow's state, answered after down failures of the kind given.
type fakeCluster struct {
	client.Client
	mu      sync.Mutex
	down    int   // calls that fail before the cluster answers; <0: all
	fail    error // how they fail
	calls   int
	state   State
	signals int
}

func (f *fakeCluster) failing() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down < 0 || f.calls <= f.down {
		return f.fail
	}
	return nil
}

func (f *fakeCluster) QueryWorkflow(ctx context.Context, id, run, query string, args ...interface{}) (converter.EncodedValue, error) {
	if err := f.failing(); err != nil {
		return nil, err
	}
	return stateValue{f.state}, nil
}

func (f *fakeCluster) SignalWorkflow(ctx context.Context, id, run, name string, arg interface{}) error {
	if err := f.failing(); err != nil {
		return err
	}
	f.mu.Lock()
	f.signals++
	f.mu.Unlock()
	return nil
}

type stateValue struct{ st State }

func (v stateValue) HasValue() bool { return true }
func (v stateValue) Get(p interface{}) error {
	*p.(*State) = v.st
	return nil
}

func fakeEngine(f *fakeCluster, log *bytes.Buffer) *Engine {
	e := &Engine{Client: f, Address: "temporal.example:7233", WorkflowID: "wf", Poll: time.Millisecond}
	if log != nil {
		e.Log = log
	}
	return e
}

// The cluster out of reach for a while (a restart, a network cut): the
// phase waits, the outage is said once and its end once, and the result
// comes. (Before, the first failed call failed the phase.)
func TestPhaseWaitsThroughAnOutage(t *testing.T) {
	f := &fakeCluster{down: 3, fail: serviceerror.NewUnavailable("connection refused"),
		state: State{Phases: []*PhaseState{{Key: "k", Spec: "s", Status: StatusDone, Result: &phase.RemoteResult{Worker: "w1"}}}}}
	var log bytes.Buffer
	res, err := fakeEngine(f, &log).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: time.Minute}, nil)
	if err != nil || res == nil || res.Worker != "w1" {
		t.Fatalf("Phase = %+v, %v", res, err)
	}
	if n := strings.Count(log.String(), "is unreachable, waiting"); n != 1 {
		t.Errorf("the outage said %d times:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "The Temporal server at temporal.example:7233 answers again") {
		t.Errorf("the end of the outage not said:\n%s", log.String())
	}
}

// Out of reach for longer than the phase may take: the phase is given up,
// stopped and not failed.
func TestPhaseGivenUpAfterItsPatience(t *testing.T) {
	f := &fakeCluster{down: -1, fail: serviceerror.NewUnavailable("connection refused")}
	start := time.Now()
	_, err := fakeEngine(f, nil).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: 600 * time.Millisecond}, nil)
	if !errors.Is(err, phase.ErrEngineUnreachable) || !errors.Is(err, phase.ErrStopped) {
		t.Fatalf("Phase: %v; want ErrEngineUnreachable", err)
	}
	if took := time.Since(start); took < 600*time.Millisecond || took > 30*time.Second {
		t.Errorf("given up after %s, with a patience of 600ms", took)
	}
	if !strings.Contains(err.Error(), "temporal.example:7233 did not answer for 600ms") {
		t.Errorf("the error does not say what happened: %v", err)
	}
}

// A refusal is not an outage: it is not waited for.
func TestPhaseRefusedIsNotWaitedFor(t *testing.T) {
	f := &fakeCluster{down: -1, fail: serviceerror.NewPermissionDenied("no", "")}
	var log bytes.Buffer
	_, err := fakeEngine(f, &log).Phase(context.Background(), &phase.RemotePhase{Key: "k", Spec: "s", Patience: time.Hour}, nil)
	if err == nil || errors.Is(err, phase.ErrEngineUnreachable) || !errors.Is(err, ErrConnection) || f.calls != 1 {
		t.Fatalf("Phase: %v after %d calls; want the refusal at once", err, f.calls)
	}
	if log.Len() != 0 {
		t.Errorf("a refusal said as an outage:\n%s", log.String())
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{serviceerror.NewUnavailable("down"), true},
		{serviceerror.NewDeadlineExceeded("slow"), true},
		{serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down"), true},
		{serviceerror.NewCanceled("RST_STREAM"), true},
		{context.DeadlineExceeded, true},
		{serviceerror.NewNotFound("no workflow"), false},
		{serviceerror.NewInvalidArgument("bad"), false},
		{serviceerror.NewPermissionDenied("no", ""), false},
		{serviceerror.NewNamespaceNotFound("ns"), false},
	} {
		if got := Transient(c.err); got != c.want {
			t.Errorf("Transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
