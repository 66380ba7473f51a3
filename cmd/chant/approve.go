package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/gate"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

type decideOptions struct {
	reviewHash string
	*globals
	id     string
	by     string
	bySet  bool // --by given, if empty
	reason string
}

func newApproveCmd(g *globals) *cobra.Command {
	opts := &decideOptions{globals: g}
	c := &cobra.Command{
		Use:               "approve ID [--by NAME]",
		Short:             "Approve a human gate so that its spec can run",
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeGates(g, "approved"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id, opts.bySet = args[0], c.Flags().Changed("by")
			return runDecide(opts, true)
		},
	}
	c.Flags().StringVar(&opts.by, "by", "", "who approves (`NAME`; default: git config user.name)")
	c.Flags().StringVar(&opts.reviewHash, "review-hash", "", "refuse unless what the approval binds is still what chant review showed as `HASH`")
	return c
}

func newRejectCmd(g *globals) *cobra.Command {
	opts := &decideOptions{globals: g}
	c := &cobra.Command{
		Use:               "reject ID [--by NAME] --reason TEXT",
		Short:             "Reject a human gate: it stays closed, with the reason recorded",
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeGates(g, "rejected"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id, opts.bySet = args[0], c.Flags().Changed("by")
			return runDecide(opts, false)
		},
	}
	c.Flags().StringVar(&opts.by, "by", "", "who rejects (`NAME`; default: git config user.name)")
	c.Flags().StringVar(&opts.reason, "reason", "", "why (`TEXT`, required)")
	return c
}

// decider is where a person decides (the workspace found, and the one
// decided in), when, and who: --by, else git config user.name (what
// names the missing name: "reviewer name", say).
func (opts *decideOptions) decider(what string) (w, target *spec.Workspace, now time.Time, err error) {
	if w, err = opts.workspace(); err != nil {
		return nil, nil, now, err
	}
	now = time.Now()
	if target, err = opts.prepare(context.Background(), w); err != nil {
		return nil, nil, now, err
	}
	if opts.by == "" {
		if repo, err := gitrepo.Open(target.Root); err == nil && !opts.bySet {
			// The name the person commits under: who runs chant, as a rule.
			opts.by, _ = repo.ConfiguredIdentity()
		}
		if opts.by == "" {
			return nil, nil, now, usage(fmt.Errorf("no %s: give it with --by NAME, or set git config user.name", what))
		}
	}
	return w, target, now, nil
}

func runDecide(opts *decideOptions, approve bool) error {
	w, target, now, err := opts.decider("reviewer name")
	if err != nil {
		return err
	}
	var d *gate.Decision
	if approve {
		d, err = gate.Approve(target, opts.id, opts.by, now, agent.Files, opts.reviewHash, plan.Staleness(target, now))
	} else {
		d, err = gate.Reject(target, opts.id, opts.by, opts.reason, now)
	}
	if err != nil {
		return err
	}
	if approve {
		how := "Run it with: " + opts.invocation() + " run"
		if d.Spec.Status == spec.StatusCompleted { // stale: it runs again
			how = "Run it again with: " + opts.invocation() + " run --stale"
		}
		fmt.Fprintf(opts.stdout, "Approved %s by %s at %s (commit %s), review hash %s.\n%s\n",
			d.Spec.ID, d.By, d.At.Format(time.RFC3339), d.Commit, gate.ReviewHash(d.Binding), how)
	} else {
		fmt.Fprintf(opts.stdout, "Rejected %s by %s at %s (commit %s). The gate stays closed until someone approves it.\n",
			d.Spec.ID, d.By, d.At.Format(time.RFC3339), d.Commit)
	}
	status := "approved"
	if !approve {
		status = "rejected"
	}
	if repo, err := gitrepo.Open(target.Root); err == nil {
		signalGate(opts.globals, w.Config, repo, d.Spec.ID, status, d.By)
	}
	return nil
}
