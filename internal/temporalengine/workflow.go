// Package temporalengine runs chant's phases on Temporal: a pipeline is a
// workflow, each phase an activity on a task queue that `chant worker`
// processes poll, a gate decision a signal. Chant stays the planner and
// the judge: the run that starts the workflow decides what runs when, and
// lands every result itself; the workflow only makes the phases durable
// (a phase asked for is run once, on some worker, retried elsewhere if its
// worker dies, and its result kept until the run takes it).
package temporalengine

import (
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/chant-run/chant/runner/phase"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Names that workflows, activities, signals and queries are registered
// and called by.
const (
	WorkflowName = "chant.pipeline"
	ActivityName = "chant.phase"
	SignalPhase  = "chant.phase"
	SignalCancel = "chant.cancel"
	SignalTaken  = "chant.taken"
	// SignalTakenAll says the run took several results (a []string of
	// keys). SignalTaken's is one: what runs of earlier chants send, still
	// heard, since a team's runs and workers may differ in version.
	SignalTakenAll = "chant.taken-all"
	SignalGate     = "chant.gate"
	SignalFinish   = "chant.finish"
	QueryState     = "chant.state"
)

// historyBudget is how many events the workflow's history may reach
// before it continues as new; historyLength measures it (variables for
// tests: the SDK's test environment keeps no history length).
var (
	historyBudget = 20000
	historyLength = func(ctx workflow.Context) int { return workflow.GetInfo(ctx).GetCurrentHistoryLength() }
)

// PipelineInput starts (or continues) a pipeline's workflow.
type PipelineInput struct {
	Repo   string // where workers fetch the repository
	Branch string
	Queue  string // the task queue of its phases
	// Heartbeat is how long a phase's worker may stay silent before the
	// phase is retried on another.
	Heartbeat time.Duration
	State     *State // carried over when the workflow continues as new
}

// State is what the workflow knows, as the state query returns it.
type State struct {
	Phases []*PhaseState `json:"phases"`
	Gates  []*GateState  `json:"gates,omitempty"`
}

// PhaseState is one phase asked of the workflow.
type PhaseState struct {
	Key    string              `json:"key"`
	Spec   string              `json:"spec"`
	Status string              `json:"status"` // running, done, failed, cancelled
	Error  string              `json:"error,omitempty"`
	Result *phase.RemoteResult `json:"result,omitempty"`
}

// Phase statuses.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// GateState is a human gate as the workflow last heard of it.
type GateState struct {
	Spec   string `json:"spec"`
	Status string `json:"status"` // awaiting, approved, rejected
	By     string `json:"by,omitempty"`
}

// PhaseRequest asks the workflow for a phase.
type PhaseRequest struct {
	Req phase.RemotePhase
}

// GateSignal tells the workflow about a gate.
type GateSignal struct {
	Spec   string
	Status string
	By     string
}

// Pipeline is the workflow of one repository's branch. It runs each phase
// it is asked for once (a key it knows is not run again), keeps the
// results for the run to take, records gate decisions, and ends when the
// run says it is finished and no phase is running.
func Pipeline(ctx workflow.Context, in PipelineInput) error {
	pl := &pipeline{ctx: ctx, in: in, state: in.State, byKey: map[string]*PhaseState{}, cancels: map[string]workflow.CancelFunc{}}
	if pl.state == nil {
		pl.state = &State{}
	}
	for _, p := range pl.state.Phases { // carried over: done phases only
		pl.byKey[p.Key] = p
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (*State, error) { return pl.state, nil }); err != nil {
		return err
	}
	pl.heartbeat = in.Heartbeat
	if pl.heartbeat <= 0 {
		pl.heartbeat = 30 * time.Second
	}
	pl.sel = workflow.NewSelector(ctx)
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalPhase), func(c workflow.ReceiveChannel, _ bool) {
		var r PhaseRequest
		c.Receive(ctx, &r)
		pl.start(r)
	})
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalCancel), func(c workflow.ReceiveChannel, _ bool) {
		var key string
		c.Receive(ctx, &key)
		if cancel := pl.cancels[key]; cancel != nil {
			cancel()
		}
	})
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalTaken), func(c workflow.ReceiveChannel, _ bool) {
		var key string
		c.Receive(ctx, &key)
		pl.taken(key)
	})
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalTakenAll), func(c workflow.ReceiveChannel, _ bool) {
		var keys []string
		c.Receive(ctx, &keys)
		for _, key := range keys {
			pl.taken(key)
		}
	})
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalGate), func(c workflow.ReceiveChannel, _ bool) {
		var g GateSignal
		c.Receive(ctx, &g)
		pl.gate(g)
	})
	pl.sel.AddReceive(workflow.GetSignalChannel(ctx, SignalFinish), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		pl.finishing = true
	})
	for {
		pl.sel.Select(ctx)
		if len(pl.cancels) > 0 {
			continue
		}
		if pl.finishing && !pl.sel.HasPending() {
			return nil
		}
		if historyLength(ctx) > historyBudget && !pl.sel.HasPending() {
			return pl.continueAsNew()
		}
	}
}

// pipeline is the state of a Pipeline workflow.
type pipeline struct {
	ctx       workflow.Context
	in        PipelineInput
	state     *State
	byKey     map[string]*PhaseState
	cancels   map[string]workflow.CancelFunc // of running phases
	finishing bool
	heartbeat time.Duration
	sel       workflow.Selector
}

// start starts the activity of a phase asked for, unless it runs or is
// done: never twice.
func (pl *pipeline) start(r PhaseRequest) {
	ctx := pl.ctx
	if old := pl.byKey[r.Req.Key]; old != nil && old.Status != StatusCancelled && old.Status != StatusFailed {
		return
	}
	p := &PhaseState{Key: r.Req.Key, Spec: r.Req.Spec, Status: StatusRunning}
	if old := pl.byKey[r.Req.Key]; old != nil {
		*old = *p
		p = old
	} else {
		pl.byKey[p.Key] = p
		pl.state.Phases = append(pl.state.Phases, p)
	}
	actx, cancel := workflow.WithCancel(ctx)
	pl.cancels[p.Key] = cancel
	actx = workflow.WithActivityOptions(actx, workflow.ActivityOptions{
		TaskQueue:           pl.in.Queue,
		ActivityID:          p.Key,
		StartToCloseTimeout: 72 * time.Hour, // the agent's own timeout is the config's
		HeartbeatTimeout:    pl.heartbeat,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{ErrTypeBadRequest},
		},
	})
	f := workflow.ExecuteActivity(actx, ActivityName, r.Req)
	pl.sel.AddFuture(f, func(f workflow.Future) {
		delete(pl.cancels, p.Key)
		var res phase.RemoteResult
		err := f.Get(ctx, &res)
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &canceled):
			p.Status, p.Error = StatusCancelled, "cancelled"
		case err != nil:
			p.Status, p.Error = StatusFailed, err.Error()
		default:
			p.Status, p.Result = StatusDone, &res
		}
	})
}

// taken forgets a phase whose result the run has (asked again, after a
// reset, it runs again).
func (pl *pipeline) taken(key string) {
	if p := pl.byKey[key]; p != nil && p.Status != StatusRunning {
		delete(pl.byKey, key)
		pl.state.Phases = slices.DeleteFunc(pl.state.Phases, func(q *PhaseState) bool { return q == p })
	}
}

// gate records a gate's decision.
func (pl *pipeline) gate(g GateSignal) {
	for _, old := range pl.state.Gates {
		if old.Spec == g.Spec {
			old.Status, old.By = g.Status, g.By
			return
		}
	}
	pl.state.Gates = append(pl.state.Gates, &GateState{Spec: g.Spec, Status: g.Status, By: g.By})
	sort.Slice(pl.state.Gates, func(i, j int) bool { return pl.state.Gates[i].Spec < pl.state.Gates[j].Spec })
}

// continueAsNew starts the workflow again with a history of its own,
// carrying over only what the next run may still take.
func (pl *pipeline) continueAsNew() error {
	kept := &State{Gates: pl.state.Gates}
	for _, p := range pl.state.Phases {
		if p.Status == StatusDone {
			kept.Phases = append(kept.Phases, p)
		}
	}
	pl.in.State = kept
	return workflow.NewContinueAsNewError(pl.ctx, WorkflowName, pl.in)
}

// ErrTypeBadRequest is the error type of a phase no worker can run (a
// request that does not make sense): it is not retried.
const ErrTypeBadRequest = "ChantBadRequest"
