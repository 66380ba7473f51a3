package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/runner/phase"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
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
		Short: "Show the agent's output of a spec's last (or running) phase",
		Long: `Show what the agent said, and the checks' output, in the last phase of a
spec, or in the one running now. With --follow, go on showing it as it comes
until the phase ends. The agent's control sequences (colours, cursor moves,
terminal commands) are left out; --raw gives the log's bytes as they are.`,
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
	w, err := opts.target()
	if err != nil {
		return err
	}
	set, err := store.List(w)
	if err != nil {
		return err
	}
	s, err := set.Resolve(opts.id)
	if err != nil {
		return err
	}
	rel := filepath.ToSlash(filepath.Join(".chant", spec.LogsDir, s.ID+".log"))
	read := func() ([]byte, error) {
		data, _, err := safefs.Root{Dir: w.Root}.ReadFile(rel, 0)
		return data, err
	}
	out := opts.stdout
	if opts.raw {
		out = opts.rawStdout
	}
	data, err := read()
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(opts.stdout, "%s has no log yet: it has not run.\n", s.ID)
		return nil
	}
	if err != nil {
		return err
	}
	out.Write(data[lastPhase(data, s.ID):])
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

// lastPhase returns where the last phase's part of a log begins: its
// header line, "=== <time> <id>: <title>" (an agent's output may have
// lines beginning with "=== " too).
func lastPhase(data []byte, id string) int {
	header := regexp.MustCompile(`^=== [0-9]{4}-[0-9]{2}-[0-9]{2}T\S+ ` + regexp.QuoteMeta(id) + `: `)
	for end := len(data); end > 0; {
		i := bytes.LastIndex(data[:end], []byte("=== "))
		if i < 0 {
			break
		}
		if (i == 0 || data[i-1] == '\n') && header.Match(data[i:]) {
			return i
		}
		end = i
	}
	return 0
}
