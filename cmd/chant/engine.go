package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/chant-run/chant/internal/clihelp"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/temporalconf"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/spec"
)

// engineFlags choose where phases run and how to reach a Temporal
// cluster; each falls back on config.md's engine and temporal settings
// (temporalconf.Settings.Resolve).
type engineFlags struct{ temporalconf.Settings }

func (f *engineFlags) add(fs *pflag.FlagSet, run bool) {
	before := map[string]bool{}
	fs.VisitAll(func(fl *pflag.Flag) { before[fl.Name] = true })
	if run {
		fs.StringVar(&f.Engine, "engine", "", "the `ENGINE` phases run on: local (this machine) or temporal (chant workers; default: engine in config.md, else local)")
		fs.StringVar(&f.Repo, "repo-url", "", "where workers fetch this repository (`URL`: a path, file://, ssh or https; default: temporal.repo, else this repository's path)")
		fs.DurationVar(&f.Heartbeat, "heartbeat", 0, "retry a phase on another worker after its worker is silent this `DURATION` (default: temporal.heartbeat, else 30s)")
		fs.DurationVar(&f.Wait, "wait", temporalconf.DefaultPatience, "wait this `DURATION` for a cluster out of reach when the run starts, 0 until stopped (mid-run, each phase waits as long as it may take)")
	} else {
		fs.StringVar(&f.Engine, "engine", "temporal", "the `ENGINE` whose phases to run: temporal")
		fs.DurationVar(&f.Wait, "wait", 0, "give up after this `DURATION` without the cluster (0: wait until stopped)")
	}
	fs.StringVar(&f.Address, "address", "", "the Temporal cluster's frontend, `HOST:PORT` (default: temporal.address)")
	fs.StringVar(&f.Namespace, "namespace", "", "the Temporal `NAMESPACE` (default: temporal.namespace, else default)")
	fs.StringVar(&f.Queue, "task-queue", "", "the task `QUEUE` of the phases (default: temporal.task_queue, else chant)")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "client certificate `FILE` (PEM) for mTLS")
	fs.StringVar(&f.TLSKey, "tls-key", "", "client key `FILE` (PEM) for mTLS")
	fs.StringVar(&f.TLSCA, "tls-ca", "", "CA certificate `FILE` (PEM) the server's certificate is checked against (default: the system's)")
	fs.StringVar(&f.TLSServerName, "tls-server-name", "", "the `NAME` the server's certificate must have (default: the address's host)")
	fs.StringVar(&f.APIKeyFile, "api-key-file", "", "read a Temporal Cloud API key from `FILE` (or set TEMPORAL_API_KEY); it turns TLS on")
	if run {
		// Of use only with --engine temporal: run's help lists them apart.
		fs.VisitAll(func(fl *pflag.Flag) {
			if !before[fl.Name] && fl.Name != "engine" {
				fs.SetAnnotation(fl.Name, clihelp.FlagGroup, []string{clihelp.TemporalFlags})
			}
		})
	}
}

// signalGate tells the pipeline's workflow, if the workspace runs on
// Temporal, of a gate decision just committed (temporalhelper.TellGate).
// The decision stands whatever happens here: the run reads it from the
// spec file.
func signalGate(g *globals, cfg *spec.Config, repo *gitrepo.Repo, id, status, by string) {
	var f engineFlags
	pl, err := f.Pipeline(cfg, repo, "chant "+map[bool]string{true: "approve", false: "reject"}[status == "approved"])
	told := ""
	if pl != nil && err == nil {
		told, err = temporalhelper.TellGate(pl, id, status, by, g.stderr)
	}
	switch {
	case err != nil:
		fmt.Fprintf(g.stderr, "Note: could not tell the pipeline's workflow (%v); the next chant run reads the decision from the spec.\n", err)
	case told != "":
		fmt.Fprintf(g.stdout, "Told the pipeline's workflow %s.\n", told)
	}
}
