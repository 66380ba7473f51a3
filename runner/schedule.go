package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
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

// scheduler runs the specs of a run: one after another (sequential), or
// side by side (parallel); either way, record puts what each phase came to
// in the report.
type scheduler struct {
	r      *run
	rep    *Report
	named  map[string]bool // specs named on the command line (none: all)
	tried  map[string]bool // specs started (or resumed) in this run
	slots  chan *isolation.Tree
	events chan parallelEvent
	jobs   map[string]*parallelJob // started, not ended
	// landing is the job given its turn, until it ends.
	landing string
	// stop: no more starts (--fail-fast, interrupted, the engine gone).
	stop       bool
	wg         sync.WaitGroup
	phases     context.Context // the phases' context, cancelled by stopPhases
	stopPhases context.CancelCauseFunc
}

// sequential is the loop of a run of one spec after another: the first
// runnable spec in plan order, until none is (or the run stops).
func (sc *scheduler) sequential(ctx context.Context, specs *store.Reloader) error {
	r := sc.r
	for !sc.stop && !r.overBudget() && !sc.triedAllNamed() {
		if err := ctx.Err(); err != nil {
			return err
		}
		a, err := r.reload(specs)
		if err != nil {
			return err
		}
		var next *spec.Spec
		for _, s := range a.Set.Order() { // the specs assessed (see scope)
			if !sc.tried[s.ID] && (len(sc.named) == 0 || sc.named[s.ID]) && sc.runnable(a.States[s.ID]) {
				next = s
				break
			}
		}
		if next == nil {
			return nil
		}
		sc.tried[next.ID] = true
		ph := r.runOne(ctx, next, r.tree, nil)
		sc.record(ctx, next, ph)
		if errors.Is(ph.Err, context.Canceled) || ctx.Err() != nil {
			return ph.Err
		}
	}
	return nil
}

// triedAllNamed reports whether every spec named on the command line has
// been tried: then no other runs, and the run ends without loading the
// specs again for the next.
func (sc *scheduler) triedAllNamed() bool {
	if len(sc.named) == 0 {
		return false
	}
	for id := range sc.named {
		if !sc.tried[id] {
			return false
		}
	}
	return true
}

// runnable reports whether the run runs the spec of st now: runnable, or
// stale and the run is run --stale.
func (sc *scheduler) runnable(st *plan.State) bool {
	return st.Runnable(sc.named[st.Spec.ID]) || sc.r.opts.Stale && st.RunsStale()
}

// record puts what a phase came to in the report, and stops what must
// stop: a refused spec is as it was, a stopped one runs with the next run
// (and an engine out of reach stops the run: the next phase would wait as
// long); a failure stops the run with --fail-fast, an interruption stops
// it.
func (sc *scheduler) record(ctx context.Context, s *spec.Spec, ph *Phase) {
	switch {
	case notRun(ph.Err):
		sc.rep.Refused = append(sc.rep.Refused, Refusal{s, ph.Err})
		return
	case errors.Is(ph.Err, phase.ErrStopped):
		sc.rep.Stopped = append(sc.rep.Stopped, *ph)
		if errors.Is(ph.Err, phase.ErrEngineUnreachable) {
			sc.stop = true
		}
		return
	}
	sc.rep.Ran = append(sc.rep.Ran, *ph)
	if ph.Err != nil {
		sc.failFast(ph.Spec.ID)
	}
	if errors.Is(ph.Err, context.Canceled) || ctx.Err() != nil {
		sc.stop = true
	}
}

// parallel is the loop of a parallel run. Each turn: reload the specs if
// a phase ended, start what may start, give the next phase in plan order
// its turn to land, and wait for a phase to finish or end.
func (sc *scheduler) parallel(ctx context.Context, specs *store.Reloader) error {
	r := sc.r
	sc.events, sc.jobs = make(chan parallelEvent), map[string]*parallelJob{}
	if err := sc.openSlots(); err != nil {
		return err
	}
	var err error
	if r.Shared, err = phase.NewSharedGuard(r.Repo); err != nil {
		return err
	}
	defer sc.wg.Wait()
	defer sc.drain()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// With --fail-fast, the first failure stops the phases that run.
	sc.phases, sc.stopPhases = context.WithCancelCause(ctx)
	defer sc.stopPhases(nil)

	var a *plan.Assessment
	changed := true // the specs may have changed since they were read
	for {
		if changed {
			if a, err = r.reload(specs); err != nil {
				return err
			}
		}
		order := a.Set.Order() // the specs assessed (see scope)
		may := sc.mayRun(order, a)
		if sc.stop || ctx.Err() != nil || sc.r.overBudget() {
			may = map[string]bool{}
		}
		started := sc.start(order, a, may)
		sc.grantTurn(order, may, started)
		if len(sc.jobs) == 0 {
			return nil
		}
		changed = sc.wait(ctx)
	}
}

// openSlots makes the run's worktrees, one per phase at once.
func (sc *scheduler) openSlots() error {
	r := sc.r
	sc.slots = make(chan *isolation.Tree, r.opts.Parallel)
	sc.slots <- r.tree
	for i := 1; i < r.opts.Parallel; i++ {
		t, err := phase.OpenTree("", r.Repo, r.Paths.Root(), phase.SlotName(i))
		if err != nil {
			return err
		}
		sc.slots <- t
	}
	return nil
}

// drain, on an early return (an error), lets every phase end,
// interrupted, and land what it may.
func (sc *scheduler) drain() {
	for len(sc.jobs) > 0 {
		ev := <-sc.events
		if !ev.done {
			close(sc.jobs[ev.id].grant)
			continue
		}
		delete(sc.jobs, ev.id)
	}
}

// failFast stops the phases that run, and any more from starting, when
// the run is --fail-fast and id failed.
func (sc *scheduler) failFast(id string) {
	if sc.r.opts.FailFast {
		sc.stop = true
		if sc.stopPhases != nil { // a parallel run's
			sc.stopPhases(fmt.Errorf("%w: %s failed (--fail-fast)", phase.ErrStopped, id))
		}
	}
}

// mayRun are the specs that may still run in this run, before any is
// started: ready ones, and those that wait only on specs that run or may.
func (sc *scheduler) mayRun(order []*spec.Spec, a *plan.Assessment) map[string]bool {
	may := map[string]bool{}
	for _, s := range order {
		if sc.tried[s.ID] || len(sc.named) > 0 && !sc.named[s.ID] {
			continue
		}
		st := a.States[s.ID]
		switch {
		case sc.runnable(st):
			may[s.ID] = true
		case st.Kind == plan.KindStale && sc.r.opts.Stale:
			ok := len(st.Through) > 0
			for _, d := range st.Through {
				if sc.jobs[d] == nil && !may[d] {
					ok = false
				}
			}
			may[s.ID] = ok
		case st.Kind == plan.KindWaiting:
			ok := len(st.Waits) > 0
			for _, d := range st.Waits {
				if sc.jobs[d.ID] == nil && !may[d.ID] {
					ok = false
				}
			}
			may[s.ID] = ok
		}
	}
	return may
}

// start starts, in plan order, every spec that may: runnable, a slot
// free, and its targets overlapping none of a spec before it that runs,
// waits to land or may run, nor of a spec that runs. It reports whether
// it started any.
func (sc *scheduler) start(order []*spec.Spec, a *plan.Assessment, may map[string]bool) bool {
	started := false
	var before []*spec.Spec // specs before the current one that run, wait to land, or may run
	for _, s := range order {
		if sc.jobs[s.ID] != nil {
			before = append(before, s)
			continue
		}
		if !may[s.ID] {
			continue
		}
		startable := sc.runnable(a.States[s.ID]) && len(sc.slots) > 0 && !sc.overlaps(s, before)
		before = append(before, s)
		if startable {
			sc.launch(s)
			started = true
		}
	}
	return started
}

// overlaps reports whether s's targets overlap those of a spec of before
// or of a running one.
func (sc *scheduler) overlaps(s *spec.Spec, before []*spec.Spec) bool {
	for _, o := range before {
		if TargetsOverlap(o.TargetFiles, s.TargetFiles) {
			return true
		}
	}
	for _, j := range sc.jobs {
		if TargetsOverlap(j.spec.TargetFiles, s.TargetFiles) {
			return true
		}
	}
	return false
}

// launch starts the phase of s in a free slot.
func (sc *scheduler) launch(s *spec.Spec) {
	sc.tried[s.ID] = true
	j := &parallelJob{spec: s, grant: make(chan struct{})}
	sc.jobs[s.ID] = j
	tree := <-sc.slots
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		j.phase = sc.r.inSlot(sc.phases, s, tree, sc.slots, func(failed bool) {
			sc.events <- parallelEvent{id: s.ID, failed: failed}
			<-j.grant
		})
		sc.events <- parallelEvent{id: s.ID, done: true}
	}()
}

// grantTurn gives the first phase in plan order that waits its turn to
// land, unless a spec before it runs or may still run: one at a time.
func (sc *scheduler) grantTurn(order []*spec.Spec, may map[string]bool, started bool) {
	if sc.landing != "" {
		return
	}
	for _, s := range order {
		j := sc.jobs[s.ID]
		if j == nil && may[s.ID] && !sc.tried[s.ID] {
			break // a spec before may still run
		}
		if j == nil {
			continue
		}
		if j.waiting {
			sc.grant(s.ID)
		}
		break // the first that runs or waits: nothing after it lands first
	}
	if sc.landing != "" || started || len(sc.jobs) == 0 {
		return
	}
	// Should every phase wait for its turn while nothing can start (an
	// earlier spec that became runnable only now, by an approval given
	// meanwhile, overlapping them), the earliest lands rather than none.
	for _, j := range sc.jobs {
		if !j.waiting {
			return
		}
	}
	for _, s := range order {
		if sc.jobs[s.ID] != nil {
			sc.grant(s.ID)
			return
		}
	}
}

func (sc *scheduler) grant(id string) {
	sc.landing = id
	close(sc.jobs[id].grant)
}

// wait takes the next event of a phase: one that finished waits for its
// turn; one that ended goes into the report. It reports whether spec files
// may have changed (a phase that ended has changed its own, and what it
// landed; one that waits has not).
func (sc *scheduler) wait(ctx context.Context) bool {
	ev := <-sc.events
	j := sc.jobs[ev.id]
	if !ev.done {
		j.waiting = true
		if ev.failed {
			sc.failFast(ev.id)
		}
		return false
	}
	delete(sc.jobs, ev.id)
	if sc.landing == ev.id {
		sc.landing = ""
	}
	sc.record(ctx, j.spec, j.phase)
	return true
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
