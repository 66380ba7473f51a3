package phase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/spec"
)

// Resumed is a phase an interrupted run had verified, verified again and
// landed by the next.
type Resumed struct {
	Spec *spec.Spec
	Outcome
	Err error
}

// Resume takes over what a run killed at any instant left, before
// anything else runs (the caller holds the run lock, so no other run is
// active, and git has been repaired): it kills the processes its agents
// left, lands phases that got past their verification once verified again
// (in tree, or the worktree of their slot), and returns phases caught
// earlier to pending, to run again. set is the specs as loaded; what it
// does is said on out.
func (r *Env) Resume(ctx context.Context, set *spec.Set, tree *isolation.Tree, out io.Writer) ([]Resumed, error) {
	os.RemoveAll(filepath.Join(r.StateDir, "scratch")) // prompt files of killed agents
	progs, err := loadProgress(r.StateDir)
	if err != nil {
		return nil, err
	}
	var done []Resumed
	resumed := map[string]bool{}
	for _, prog := range progs {
		if n := procs.KillAll(prog.PGID, prog.Marker); n > 0 {
			fmt.Fprintf(out, "Stopped %d process(es) that the agent of %s left running in an interrupted run\n", n, prog.Spec)
		}
		s := set.Get(prog.Spec)
		switch {
		case s == nil || s.Status != spec.StatusInProgress:
			if err := removeProgress(r.StateDir, prog.Spec); err != nil {
				return done, err
			}
		case prog.Step == stepVerified && !prog.Released:
			resumed[s.ID] = true
			fmt.Fprintf(out, "Resuming %s: an interrupted run had verified its work; verifying it again\n", s.ID)
			res := Resumed{Spec: s}
			res.Commit, res.Err = r.resumeVerified(ctx, s, prog, tree, &res.Outcome)
			done = append(done, res)
		}
	}
	for _, s := range set.Specs {
		if s.Status == spec.StatusInProgress && !resumed[s.ID] {
			fmt.Fprintf(out, "Taking over %s, left in progress by an interrupted run\n", s.ID)
			if _, err := r.Workspace.Update(s.ID, BackToPending); err != nil {
				return done, err
			}
			if err := removeProgress(r.StateDir, s.ID); err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// resumeVerified verifies again, in the worktree the interrupted run left,
// the work of a phase that had verified, and lands it.
func (r *Env) resumeVerified(ctx context.Context, s *spec.Spec, prog *progress, tree *isolation.Tree, ph *Outcome) (string, error) {
	logFile, err := r.openLog(s.ID)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	p := &phase{env: r, spec: s, snapshot: s.Bytes(), specRel: r.Paths.Abs(r.Workspace.SpecPath(s.ID)), prog: prog, log: logFile, tree: tree}
	if prog.Slot != "" && prog.Slot != tree.Slot() {
		// The worktree a phase of a parallel run worked in.
		if !validSlot(prog.Slot) {
			return "", p.fail(prog.Output, nil, fmt.Errorf("its progress names no worktree of chant's: %q", prog.Slot))
		}
		if p.tree, err = OpenTree("", r.Repo, r.Paths.Root(), prog.Slot); err != nil {
			return "", p.fail(prog.Output, nil, err)
		}
	}
	if p.contract, err = r.readContract(s); err != nil {
		return "", p.fail(prog.Output, nil, err)
	}
	v, err := p.verify(ctx)
	ph.Verification = v
	if err == nil && !v.OK() {
		err = errors.New(strings.Join(v.Problems(), "; "))
	}
	if err != nil {
		return "", p.fail(prog.Output, v, err)
	}
	return p.land(v)
}
