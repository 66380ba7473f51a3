package temporalhelper

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/chant-run/chant/internal/temporalconf"
	"github.com/chant-run/chant/runner/phase"
)

// Engine is a run's side of a pipeline's workflow (phase.Engine), through
// a helper process: it starts the workflow or joins the one running, asks
// it for phases and waits for their results.
type Engine struct {
	// The pipeline's workflow, as the helper reached it.
	WorkflowID, Address, Queue, Repo string

	p      *proc
	mu     sync.Mutex
	nextID int
	calls  map[int]chan answer
	gone   error // the conversation's end, once it has ended
}

// cancelWait bounds the wait for a phase's end once its run no longer
// waits for it: the helper tells the workflow to stop it, within 10 s.
const cancelWait = 15 * time.Second

// Open connects to the workflow of the pipeline pl, through a helper
// process. It waits for a cluster out of reach (pl.Patience), and the
// helper says so, and when the cluster is back, on wait; so it says when
// the cluster stops answering later. The helper's errors go to stderr.
func Open(ctx context.Context, pl *temporalconf.Pipeline, wait, stderr io.Writer) (*Engine, error) {
	p, err := start(OpEngine, Hello{Pipeline: pl}, wait, stderr)
	if err != nil {
		return nil, err
	}
	var a answer
	select {
	case a = <-p.nextAnswer():
	case <-ctx.Done():
		p.close(5 * time.Second)
		return nil, ctx.Err()
	}
	if a.err == nil {
		a.err = a.r.Err.Err()
	}
	if a.err != nil {
		p.close(5 * time.Second)
		return nil, a.err
	}
	e := &Engine{WorkflowID: a.r.WorkflowID, Address: a.r.Address, Queue: a.r.Queue, Repo: a.r.Repo, p: p, calls: map[int]chan answer{}}
	go e.read()
	return e, nil
}

// read hands each reply to its request, until the conversation ends; then
// every request waiting, and every one to come, gets why.
func (e *Engine) read() {
	for {
		r, err := e.p.next()
		e.mu.Lock()
		if err != nil {
			e.gone = fmt.Errorf("%w: %w", phase.ErrEngineUnreachable, err)
			for id, ch := range e.calls {
				ch <- answer{err: e.gone}
				delete(e.calls, id)
			}
			e.mu.Unlock()
			return
		}
		ch := e.calls[r.ID]
		if r.Final {
			delete(e.calls, r.ID)
		}
		e.mu.Unlock()
		if ch != nil {
			ch <- answer{r: r}
		}
	}
}

// request sends req under a new ID and returns where its replies come.
func (e *Engine) request(req Request) (int, chan answer, error) {
	e.mu.Lock()
	if e.gone != nil {
		e.mu.Unlock()
		return 0, nil, e.gone
	}
	e.nextID++
	req.ID = e.nextID
	// Buffered for a phase's updates, which the reader must never wait on.
	ch := make(chan answer, 16)
	e.calls[req.ID] = ch
	e.mu.Unlock()
	if err := e.p.send(req); err != nil {
		e.forget(req.ID)
		return 0, nil, fmt.Errorf("%w: %w", phase.ErrEngineUnreachable, e.p.ended(err))
	}
	return req.ID, ch, nil
}

func (e *Engine) forget(id int) {
	e.mu.Lock()
	delete(e.calls, id)
	e.mu.Unlock()
}

// ask sends req and waits for its final reply, within ctx.
func (e *Engine) ask(ctx context.Context, req Request) (Reply, error) {
	id, ch, err := e.request(req)
	if err != nil {
		return Reply{}, err
	}
	for {
		select {
		case a := <-ch:
			if a.err != nil {
				return Reply{}, a.err
			}
			if !a.r.Final {
				continue
			}
			return a.r, a.r.Err.Err()
		case <-ctx.Done():
			e.forget(id)
			return Reply{}, ctx.Err()
		}
	}
}

// Attach starts the pipeline's workflow, or joins it if it runs (never a
// second one); joined says which. It waits for a cluster it cannot reach.
func (e *Engine) Attach(ctx context.Context) (joined bool, err error) {
	r, err := e.ask(ctx, Request{Op: ReqAttach})
	return r.Joined, err
}

// Phase asks the workflow for a phase (unless it has it, running or
// done) and waits for its result; update is told which worker runs it.
// Interrupted, it has the phase cancelled on its worker.
func (e *Engine) Phase(ctx context.Context, req *phase.RemotePhase, update func(worker string)) (*phase.RemoteResult, error) {
	id, ch, err := e.request(Request{Op: ReqPhase, Phase: req, Patience: req.Patience})
	if err != nil {
		return nil, err
	}
	done := ctx.Done()
	var stop <-chan time.Time
	for {
		select {
		case a := <-ch:
			switch {
			case a.err != nil:
				return nil, a.err
			case !a.r.Final:
				if update != nil && a.r.Worker != "" {
					update(a.r.Worker)
				}
				continue
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case a.r.Err != nil:
				return nil, a.r.Err.Err()
			}
			if update != nil && a.r.Result != nil {
				update(a.r.Result.Worker)
			}
			return a.r.Result, nil
		case <-done:
			// Stop it on its worker, and wait for the helper to have
			// told the workflow so.
			done = nil
			e.p.send(Request{ID: id, Op: ReqCancel})
			stop = time.After(cancelWait)
		case <-stop:
			e.forget(id)
			return nil, ctx.Err()
		}
	}
}

// Done says the run has taken the phase's result: the workflow may forget
// it (told with the others taken within a second, best effort).
func (e *Engine) Done(key string) {
	e.p.send(Request{Op: ReqDone, Key: key})
}

// Gate tells the workflow about a gate (awaiting, approved, rejected).
func (e *Engine) Gate(ctx context.Context, spec, status, by string) error {
	_, err := e.ask(ctx, Request{Op: ReqGate, Gate: &Gate{Spec: spec, Status: status, By: by}})
	return err
}

// Finish tells the workflow that the run is over: it ends once no phase
// runs.
func (e *Engine) Finish(ctx context.Context) error {
	_, err := e.ask(ctx, Request{Op: ReqFinish})
	return err
}

// Close ends the conversation: the helper tells the workflow the results
// taken, and exits.
func (e *Engine) Close() {
	e.p.close(20 * time.Second)
}
