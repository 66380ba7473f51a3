// Package temporalhelper is chant's side of chant-temporal, the program
// that talks to a Temporal cluster. chant runs it for what needs the
// cluster (a run's phases on the temporal engine, a worker, doctor's look
// at the task queue, a gate decision told to the pipeline's workflow) and
// converses with it in JSON, so that chant itself links no Temporal code:
// the SDK's packages took about 7 ms to initialise at every start of
// every command. git runs its remote helpers so.
//
// The conversation: chant starts `chant-temporal OP` and writes requests
// on its standard input, one JSON object a line, the first a Hello; the
// helper replies on its descriptor 3, one JSON object a line. Its standard
// output and error are for people: chant passes them on, filtered. Its
// standard input closed means chant is gone or done: the helper stops what
// it does (a worker its phases, as at a signal) and exits. The helper
// pays no heed to a terminal's signals: chant, which gets them too,
// decides.
package temporalhelper

import (
	"context"
	"errors"
	"time"

	"github.com/chant-run/chant/internal/companion"
	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/temporalconf"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
)

// Program is the helper's name, beside chant or on PATH.
const Program = companion.Temporal

// Protocol is the conversation's version: a chant and a helper of other
// versions refuse each other rather than misread each other.
const Protocol = 1

// The helper's operations, its one argument. (chant-temporal also has
// the network transports chant does not link: OpTransfer.)
const (
	OpEngine   = "engine"    // a run's phases, until standard input closes
	OpWorker   = "worker"    // a worker, until standard input closes
	OpPollers  = "pollers"   // the workers polling a task queue
	OpTellGate = "tell-gate" // a gate decision, told to the pipeline's workflow
	OpTransfer = "transfer"  // a fetch or a push, over a network transport
)

// Hello is the first request of every operation: what it works on.
type Hello struct {
	Protocol int
	// Pipeline is the workflow of OpEngine and OpTellGate.
	Pipeline *temporalconf.Pipeline `json:",omitempty"`
	// Conn and Queue are the cluster and task queue of OpPollers and
	// OpWorker.
	Conn   temporalconf.Connection
	Queue  string         `json:",omitempty"`
	Worker *WorkerOptions `json:",omitempty"`
	Gate   *Gate          `json:",omitempty"`
	// Transfer is OpTransfer's.
	Transfer *Transfer `json:",omitempty"`
}

// Transfer is a fetch into, or a push from, the repository of the work
// tree Dir, of RefSpecs, from or to the repository at URL (on another
// machine: see gitrepo.Network).
type Transfer struct {
	Dir, URL string
	Push     bool
	RefSpecs []string
}

// WorkerOptions are a worker's, as chant worker's flags give them.
type WorkerOptions struct {
	Identity    string
	Concurrency int
	Dir         string // its clones, worktrees and logs
	// Patience is how long it waits for a cluster out of reach when it
	// starts (0: until stopped).
	Patience time.Duration
}

// Gate is a gate's state, told to the workflow.
type Gate struct{ Spec, Status, By string }

// Operations of OpEngine after its Hello.
const (
	ReqAttach = "attach" // start the workflow or join it
	ReqPhase  = "phase"  // run a phase (replies: its worker, then its end)
	ReqCancel = "cancel" // stop the phase of request ID
	ReqDone   = "done"   // the run took the result of Key (no reply)
	ReqGate   = "gate"   // tell the workflow of a gate
	ReqFinish = "finish" // tell the workflow the run is over
)

// Request is one request of OpEngine, after its Hello.
type Request struct {
	ID    int                `json:",omitempty"`
	Op    string             // one of Req*
	Phase *phase.RemotePhase `json:",omitempty"`
	// Patience is Phase.Patience, which the phase's own JSON leaves out.
	Patience time.Duration `json:",omitempty"`
	Key      string        `json:",omitempty"`
	Gate     *Gate         `json:",omitempty"`
}

// Reply answers a request by its ID, or a Hello (ID 0). A request's last
// reply is Final; a phase's earlier ones name its worker.
type Reply struct {
	ID    int    `json:",omitempty"`
	Final bool   `json:",omitempty"`
	Err   *Error `json:",omitempty"`
	// OpEngine's Hello: the pipeline's workflow.
	WorkflowID, Address, Queue, Repo string              `json:",omitempty"`
	Joined                           bool                `json:",omitempty"` // ReqAttach
	Worker                           string              `json:",omitempty"` // ReqPhase, before its end
	Result                           *phase.RemoteResult `json:",omitempty"` // ReqPhase
	Workers                          []string            `json:",omitempty"` // OpPollers
	Told                             string              `json:",omitempty"` // OpTellGate: the workflow told, "" if none runs
}

// Error is an error crossing the conversation: its text, its class and
// the sentinels it wraps that chant tells errors by, so that chant sees
// the helper's error as its own (errors.Is, exit statuses).
type Error struct {
	Msg   string
	Class fault.Class `json:",omitempty"`
	Is    []string    `json:",omitempty"`
}

// sentinels are the errors that cross by name.
var sentinels = []struct {
	name string
	err  error
}{
	{"unreachable", phase.ErrEngineUnreachable},
	{"interrupted", agent.ErrInterrupted},
	{"canceled", context.Canceled},
	{"deadline", context.DeadlineExceeded},
}

// Wrap is err as it crosses; nil for nil.
func Wrap(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Msg: err.Error(), Class: fault.Of(err)}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			e.Is = append(e.Is, s.name)
		}
	}
	return e
}

// Err is the error that crossed.
func (e *Error) Err() error {
	if e == nil {
		return nil
	}
	r := &remoteError{msg: e.Msg, class: e.Class}
	for _, name := range e.Is {
		for _, s := range sentinels {
			if s.name == name {
				r.is = append(r.is, s.err)
			}
		}
	}
	return r
}

type remoteError struct {
	msg   string
	class fault.Class
	is    []error
}

func (e *remoteError) Error() string      { return e.msg }
func (e *remoteError) Class() fault.Class { return e.class }
func (e *remoteError) Unwrap() []error    { return e.is }
