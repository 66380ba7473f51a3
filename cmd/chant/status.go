package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/runner"
	"github.com/chant-run/chant/spec"
)

type statusOptions struct {
	*globals
	json bool
}

func newStatusCmd(g *globals) *cobra.Command {
	opts := &statusOptions{globals: g}
	c := &cobra.Command{
		Use:   "status",
		Short: "List the specs and where each stands (read-only)",
		Args:  exactArgs(0, "no arguments"),
		RunE:  func(c *cobra.Command, args []string) error { return runStatus(opts) },
	}
	c.Flags().BoolVar(&opts.json, "json", false, "print one JSON object")
	return c
}

// statusJSON is the shape of `chant status --json`.
type statusJSON struct {
	Repo  string     `json:"repo"`
	Specs []specJSON `json:"specs"`
}

type specJSON struct {
	ID          string       `json:"id"`
	Title       string       `json:"title"`
	Type        string       `json:"type"`
	Status      string       `json:"status"`
	DependsOn   []string     `json:"depends_on"`
	TargetFiles []string     `json:"target_files"`
	Commits     []string     `json:"commits"`
	Approval    approvalJSON `json:"approval"`
	Ready       bool         `json:"ready"`
	Reason      string       `json:"reason,omitempty"`
	Valid       bool         `json:"valid"`
	Error       string       `json:"error,omitempty"`
}

type approvalJSON struct {
	Required bool   `json:"required"`
	Status   string `json:"status,omitempty"`
	By       string `json:"by,omitempty"`
	At       string `json:"at,omitempty"`
}

func runStatus(opts *statusOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	target, repo, exists, err := runner.Target(w)
	if err != nil {
		return err
	}
	set, err := target.Load()
	if err != nil {
		return err
	}
	invalid := map[string]string{}
	for _, e := range set.Invalid {
		var located *spec.Error
		var list spec.Errors
		path := ""
		if errors.As(e, &list) && len(list) > 0 {
			errors.As(list[0], &located)
		} else {
			errors.As(e, &located)
		}
		if located != nil {
			path = located.Path
		}
		for _, s := range set.Specs {
			if s.Path == path {
				invalid[s.ID] = e.Error()
			}
		}
	}
	readiness := set.Readiness()
	order := set.Order()

	if opts.json {
		out := statusJSON{Repo: repo, Specs: []specJSON{}}
		for _, s := range order {
			r := readiness[s.ID]
			j := specJSON{
				ID: s.ID, Title: s.Title, Type: s.Type, Status: s.Status,
				DependsOn: nonNil(s.DependsOn), TargetFiles: nonNil(s.TargetFiles), Commits: nonNil(s.Commits),
				Ready: r.Ready && invalid[s.ID] == "", Reason: r.Reason, Valid: invalid[s.ID] == "", Error: invalid[s.ID],
			}
			if s.Approval != nil {
				j.Approval = approvalJSON{Required: s.Approval.Required, Status: s.Approval.Status, By: s.Approval.By, At: s.Approval.At}
			}
			out.Specs = append(out.Specs, j)
		}
		enc := json.NewEncoder(opts.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}

	if exists {
		fmt.Fprintf(opts.stdout, "Repository: %s\n\n", repo)
	} else {
		fmt.Fprintf(opts.stdout, "Repository: %s (not made yet: '%s run' makes it from the %s fixture)\n\n",
			repo, opts.invocation(), w.Config.Fixture)
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tTITLE\tWHY NOT DONE")
	counts := map[string]int{}
	for _, s := range order {
		r := readiness[s.ID]
		why := r.Reason
		if r.Ready {
			why = "ready to run"
		}
		if msg := invalid[s.ID]; msg != "" {
			why = "invalid: " + msg
		}
		counts[s.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Type, s.Status, s.Title, why)
	}
	tw.Flush()
	var parts []string
	for _, st := range []string{spec.StatusCompleted, spec.StatusInProgress, spec.StatusPending, spec.StatusFailed} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], strings.ReplaceAll(st, "_", " ")))
		}
	}
	fmt.Fprintf(opts.stdout, "\n%d specs: %s\n", len(order), strings.Join(parts, ", "))
	return nil
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
