package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/spec"
)

type workerOptions struct {
	*globals
	engineFlags
	identity    string
	concurrency int
	workDir     string
}

func newWorkerCmd(g *globals) *cobra.Command {
	opts := &workerOptions{globals: g}
	c := &cobra.Command{
		Use:   "worker --engine temporal --address HOST:PORT",
		Short: "Run phases of pipelines that runs on other machines send to a Temporal task queue",
		Long: `Run phases for any pipeline that chant run --engine temporal submits to the
task queue, until stopped (Ctrl-C or SIGTERM).

A worker needs no checkout of its own: for each phase it fetches the
repository the run names (a path, file://, ssh or https) at the phase's base
commit into a clone under --cache-dir, runs the agent that the repository's
config asks for in a worktree of that clone, with CHANT_WORKER set to the
worker's identity, and verifies the work exactly as a local run does. It
hands back its verdict and a commit of the verified targets, pushed to a
refs/chant/results/ reference of the repository; the run lands it. A
worker never touches a branch. It heartbeats while the agent runs: a worker
that dies has its phase retried on another.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			return runWorker(c, opts)
		},
	}
	opts.engineFlags.add(c.Flags(), false)
	c.Flags().StringVar(&opts.identity, "identity", "", "the worker's `NAME`, as status and the cluster show it (default: host name and process ID)")
	c.Flags().IntVar(&opts.concurrency, "concurrency", 1, "run up to `N` phases at once")
	c.Flags().StringVar(&opts.workDir, "cache-dir", "", "the worker's own `DIR` for clones, worktrees and logs, one per worker process (default: ~/.cache/chant/worker/NAME)")
	return c
}

func runWorker(c *cobra.Command, opts *workerOptions) error {
	if opts.Engine != spec.EngineTemporal {
		return usage(fmt.Errorf("--engine %s: a worker serves the temporal engine", opts.Engine))
	}
	if opts.concurrency < 1 || opts.concurrency > spec.MaxParallel {
		return usage(fmt.Errorf("--concurrency %d: not a number of phases to run at once (1 to %d)", opts.concurrency, spec.MaxParallel))
	}
	_, conn, queue, _, _, err := opts.engineFlags.Resolve(nil)
	if err != nil {
		return err
	}
	if opts.identity == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "worker"
		}
		opts.identity = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if strings.ContainsAny(opts.identity, "\n\r") {
		return usage(fmt.Errorf("--identity: one line"))
	}
	dir := opts.workDir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return usage(fmt.Errorf("no cache directory for the worker (%v): give one with --cache-dir", err))
		}
		dir = filepath.Join(cache, "chant", "worker", filepath.Base(opts.identity))
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	conn.Identity = opts.identity
	// A worker started before the cluster is up (or while it restarts)
	// waits for it (Patience).
	return temporalhelper.Worker(c.Context(), conn, queue, temporalhelper.WorkerOptions{
		Identity: opts.identity, Concurrency: opts.concurrency, Dir: dir, Patience: opts.Wait}, opts.stdout, opts.stderr)
}
