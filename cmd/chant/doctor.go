package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/heapgoal"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/internal/table"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

// askTimeout bounds doctor --agent's question.
const askTimeout = 90 * time.Second

// errDoctor means doctor found something to fix.
var errDoctor = errors.New("something to fix")

func newDoctorCmd(g *globals) *cobra.Command {
	var asJSON, ask bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Show the configured agent, its version, and whether the workspace lints clean",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			return runDoctor(c.Context(), g, asJSON, ask)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, `one JSON object: "ok" and each line's value by its name ("workspace", "agent", …)`)
	c.Flags().BoolVar(&ask, "agent", false, "ask the agent a one-word question, end to end, in the sandbox (its endpoint, its key; a model call)")
	return c
}

func runDoctor(ctx context.Context, g *globals, asJSON, ask bool) error {
	heapgoal.Listing()
	w, err := g.target()
	if err != nil {
		return err
	}
	ok := true
	var fields table.Fields
	row := fields.Add
	defer func() {
		if asJSON {
			fields.JSON(g.stdout, map[string]any{"ok": ok})
		} else {
			fields.Write(g.stdout)
		}
	}()
	row("Workspace", w.Root)
	ok = agent.Doctor(ctx, w, row, ask, askTimeout)
	set, err := store.List(w)
	if err != nil {
		return err
	}
	problems, err := lintProblems(w, set, false)
	if err != nil {
		return err
	}
	errs, warns := countProblems(problems)
	switch {
	case errs+warns == 0:
		row("Lint", fmt.Sprintf("clean (%d specs)", len(set.Specs)))
	default:
		row("Lint", fmt.Sprintf("%s, %s in %s: see %s lint", words.Plural(errs, "error"), words.Plural(warns, "warning"), words.Plural(len(set.Specs), "spec"), g.invocation()))
		ok = ok && errs == 0
	}
	if repo, err := gitrepo.Open(w.Root); err == nil {
		if dir, _, err := isolation.Location(repo, "phase"); err == nil {
			row("Worktree", dir)
		}
	} else {
		row("Git", err.Error())
		ok = false
	}
	sb, sbOK := agent.DescribeSandbox(w)
	row("Sandbox", sb)
	ok = ok && sbOK
	if root, err := g.workspace(); err == nil {
		ok = doctorEngine(ctx, root.Config, row) && ok
	}
	if !ok {
		return &reported{errDoctor}
	}
	return nil
}

// doctorEngine says where phases run and, for Temporal, whether the
// cluster answers and which workers poll the queue.
func doctorEngine(ctx context.Context, cfg *spec.Config, row func(k, v string)) bool {
	var f engineFlags
	engine, conn, queue, _, _, err := f.Resolve(cfg)
	switch {
	case err != nil:
		row("Engine", err.Error())
		return false
	case engine != spec.EngineTemporal:
		row("Engine", "local (phases run on this machine)")
		return true
	}
	where := fmt.Sprintf("temporal at %s, namespace %s, task queue %s", conn.Address, conn.Namespace, queue)
	conn.Identity = "chant doctor"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	workers, err := temporalhelper.Pollers(ctx, conn, queue, nil)
	switch {
	case err != nil:
		row("Engine", where+": "+err.Error())
		return false
	case len(workers) == 0:
		row("Engine", where+": no worker polls it (start one with chant worker)")
		return false
	}
	row("Engine", fmt.Sprintf("%s: workers %s", where, strings.Join(workers, ", ")))
	return true
}
