package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
)

type logOptions struct {
	*globals
	id     string
	follow bool
	raw    bool
}

func newLogCmd(g *globals) *cobra.Command {
	opts := &logOptions{globals: g}
	c := &cobra.Command{
		Use:   "log ID",
		Short: "Show what the agent did in a spec's last (or running) phase",
		Long: `Show what the agent did in the last phase of a spec, or in the one running
now: the commands it ran and what they printed, the files it edited, what
it said, its errors and usage, from its CLI's stream; then the checks'
output. With --follow, go on showing it as it comes until the phase ends.
The agent's control sequences (colours, cursor moves, terminal commands)
are left out; --raw gives the log's bytes as they are, the CLI's JSON
stream included.`,
		Args: exactArgs(1, "one spec ID"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runLog(c.Context(), opts)
		},
		ValidArgsFunction: completeIDs(g, 1),
	}
	c.Flags().BoolVarP(&opts.follow, "follow", "f", false, "keep showing the output of the running phase until it ends")
	c.Flags().BoolVar(&opts.raw, "raw", false, "the log's bytes as they are, control sequences included")
	return c
}

func runLog(ctx context.Context, opts *logOptions) error {
	w, _, s, err := opts.listed(opts.id)
	if err != nil {
		return err
	}
	read := func() ([]byte, error) {
		data, _, err := safefs.Root{Dir: w.Root}.ReadFile(phase.LogPath(s.ID), 0)
		return data, err
	}
	var out io.Writer = opts.rawStdout
	if !opts.raw {
		steps := agent.LogRenderer(opts.stdout)
		defer steps.Flush()
		out = steps
	}
	data, err := read()
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(opts.stdout, "%s has no log yet: it has not run.\n", s.ID)
		return nil
	}
	if err != nil {
		return err
	}
	out.Write(data[phase.LastPhase(data, s.ID):])
	if !opts.follow {
		return nil
	}
	stateDir := ""
	if dirs, err := gitdir.Find(w.Root); err == nil {
		stateDir = dirs.StateDir()
	}
	shown := len(data)
	for phase.Running(stateDir, s.ID) {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
		if data, err = read(); err != nil {
			return err
		}
		if len(data) < shown { // the log was started afresh
			shown = 0
		}
		if len(data) > shown {
			out.Write(data[shown:])
			shown = len(data)
		}
	}
	if data, err = read(); err == nil && len(data) > shown {
		out.Write(data[shown:])
	}
	return nil
}
