package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
)

// A parallel run (Options.Parallel > 1) runs up to N specs at once, each
// in a worktree of its own ("phase", "phase-2", …), and lands their
// results on the branch one at a time in plan order (set.Order, the order
// a sequential run takes), so that the history is the one a sequential run
// would make. Two rules make that hold:
//
//   - a spec starts when it is ready (its last dependency landed), a slot
//     is free, and its targets overlap neither those of a spec that runs
//     or waits to land, nor those of a spec before it in plan order that
//     may still run in this run (which, sequentially, it would see);
//   - a finished phase lands (or records its failure) when no spec before
//     it in plan order runs, waits to land, or may still run.
//
// A finished phase frees its worktree before it waits for its turn: what
// it lands is in memory.

// parallelJob is one phase of a parallel run.
type parallelJob struct {
	spec  *spec.Spec
	phase *Phase
	// waiting: finished, waiting for its turn to change the branch.
	waiting bool
	grant   chan struct{}
}

type parallelEvent struct {
	id     string
	done   bool // the phase ended (landed, failed or refused); else it waits
	failed bool // waiting, it will record a failure
}

// runParallel is the loop of a parallel run; tried holds resumed specs.
func (r *run) runParallel(ctx context.Context, rep *Report, specs *spec.Reloader, named, tried map[string]bool) error {
	n := r.opts.Parallel
	slots := make(chan *isolation.Tree, n)
	slots <- r.tree
	for i := 1; i < n; i++ {
		t, err := phase.OpenTree("", r.Repo, r.Paths.Root(), phase.SlotName(i))
		if err != nil {
			return err
		}
		slots <- t
	}
	var err error
	if r.Shared, err = phase.NewSharedGuard(r.Repo); err != nil {
		return err
	}

	events := make(chan parallelEvent)
	jobs := map[string]*parallelJob{} // started, not ended
	landing := ""                     // the job given its turn, until it ends
	stop := false                     // no more starts: --fail-fast, or interrupted
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() {
		// An early return (an error): every phase ends, interrupted, and
		// lands what it may.
		for len(jobs) > 0 {
			ev := <-events
			if !ev.done {
				close(jobs[ev.id].grant)
				continue
			}
			delete(jobs, ev.id)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// With --fail-fast, the first failure stops the phases that run.
	phases, stopPhases := context.WithCancelCause(ctx)
	defer stopPhases(nil)
	failFast := func(id string) {
		if r.opts.FailFast {
			stop = true // nothing more starts
			stopPhases(fmt.Errorf("%w: %s failed (--fail-fast)", phase.ErrStopped, id))
		}
	}

	var set *spec.Set
	var a *Assessment
	changed := true // the specs may have changed since they were read
	for {
		if changed {
			if set, a, err = r.reload(specs); err != nil {
				return err
			}
			changed = false
		}
		order := set.Order()
		// The specs that may still run in this run, before any is started:
		// ready ones, and those that wait only on specs that run or may.
		may := map[string]bool{}
		for _, s := range order {
			if tried[s.ID] || len(named) > 0 && !named[s.ID] {
				continue
			}
			st := a.States[s.ID]
			switch {
			case st.Runnable(named[s.ID]):
				may[s.ID] = true
			case st.Kind == KindWaiting:
				ok := len(st.Waits) > 0
				for _, d := range st.Waits {
					if jobs[d.ID] == nil && !may[d.ID] {
						ok = false
					}
				}
				may[s.ID] = ok
			}
		}
		if stop || ctx.Err() != nil {
			may = map[string]bool{}
		}
		// Starts, in plan order.
		started := false
		var before []*spec.Spec // specs before the current one that run, wait to land, or may run
		for _, s := range order {
			if jobs[s.ID] != nil {
				before = append(before, s)
				continue
			}
			if !may[s.ID] {
				continue
			}
			startable := a.States[s.ID].Runnable(named[s.ID]) && len(slots) > 0
			for _, o := range before {
				if startable && spec.TargetsOverlap(o.TargetFiles, s.TargetFiles) {
					startable = false
				}
			}
			for _, j := range jobs {
				if startable && spec.TargetsOverlap(j.spec.TargetFiles, s.TargetFiles) {
					startable = false
				}
			}
			before = append(before, s)
			if !startable {
				continue
			}
			tried[s.ID] = true
			started = true
			j := &parallelJob{spec: s, grant: make(chan struct{})}
			jobs[s.ID] = j
			tree := <-slots
			wg.Add(1)
			go func() {
				defer wg.Done()
				j.phase = r.inSlot(phases, s, tree, slots, func(failed bool) {
					events <- parallelEvent{id: s.ID, failed: failed}
					<-j.grant
				})
				events <- parallelEvent{id: s.ID, done: true}
			}()
		}
		// A turn to land, in plan order, one at a time.
		if landing == "" {
			for _, s := range order {
				j := jobs[s.ID]
				if j == nil && may[s.ID] && !tried[s.ID] {
					break // a spec before may still run
				}
				if j == nil {
					continue
				}
				if j.waiting {
					landing = s.ID
					close(j.grant)
				}
				break // the first that runs or waits: nothing after it lands first
			}
		}
		if landing == "" && !started && len(jobs) > 0 {
			// Should every phase wait for its turn while nothing can
			// start (an earlier spec that became runnable only now, by an
			// approval given meanwhile, overlapping them), the earliest
			// lands rather than none.
			all := true
			for _, j := range jobs {
				all = all && j.waiting
			}
			for _, s := range order {
				if j := jobs[s.ID]; all && j != nil {
					landing = s.ID
					close(j.grant)
					break
				}
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		ev := <-events
		j := jobs[ev.id]
		// A phase that ended has changed spec files (its own, and what it
		// landed); one that waits for its turn has not.
		changed = ev.done
		if !ev.done {
			j.waiting = true
			if ev.failed {
				failFast(ev.id)
			}
			continue
		}
		delete(jobs, ev.id)
		if landing == ev.id {
			landing = ""
		}
		ph := j.phase
		switch {
		case notRun(ph.Err):
			rep.Refused = append(rep.Refused, Refusal{j.spec, ph.Err})
			continue
		case errors.Is(ph.Err, phase.ErrStopped):
			rep.Stopped = append(rep.Stopped, *ph)
			if errors.Is(ph.Err, phase.ErrEngineUnreachable) {
				stop = true // the next phase would wait as long
			}
			continue
		}
		rep.Ran = append(rep.Ran, *ph)
		if ph.Err != nil {
			failFast(ph.Spec.ID)
		}
		if errors.Is(ph.Err, context.Canceled) || ctx.Err() != nil {
			stop = true
		}
	}
}

// inSlot runs one spec of a parallel run in tree, which it gives
// back to slots once its work is verified (or failed), before it waits
// for its turn.
func (r *run) inSlot(ctx context.Context, s *spec.Spec, tree *isolation.Tree, slots chan<- *isolation.Tree, turn func(failed bool)) *Phase {
	released := false
	release := func() {
		if !released {
			released = true
			slots <- tree
		}
	}
	defer release()
	return r.runOne(ctx, s, tree, func(releaseTree func() bool, failing bool) {
		if releaseTree() {
			release()
		}
		turn(failing)
	})
}
