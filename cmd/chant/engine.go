package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/temporalengine"
	"github.com/chant-run/chant/spec"
)

// engineFlags choose where phases run and how to reach a Temporal
// cluster; each falls back on config.md's engine and temporal settings.
type engineFlags struct {
	engine        string
	address       string
	namespace     string
	queue         string
	repo          string
	heartbeat     time.Duration
	wait          time.Duration
	tlsCert       string
	tlsKey        string
	tlsCA         string
	tlsServerName string
	apiKeyFile    string
}

func (f *engineFlags) add(fs *pflag.FlagSet, run bool) {
	before := map[string]bool{}
	fs.VisitAll(func(fl *pflag.Flag) { before[fl.Name] = true })
	if run {
		fs.StringVar(&f.engine, "engine", "", "the `ENGINE` phases run on: local (this machine) or temporal (chant workers; default: engine in config.md, else local)")
		fs.StringVar(&f.repo, "repo-url", "", "where workers fetch this repository (`URL`: a path, file://, ssh or https; default: temporal.repo, else this repository's path)")
		fs.DurationVar(&f.heartbeat, "heartbeat", 0, "retry a phase on another worker after its worker is silent this `DURATION` (default: temporal.heartbeat, else 30s)")
		fs.DurationVar(&f.wait, "wait", temporalengine.DefaultPatience, "wait this `DURATION` for a cluster out of reach when the run starts, 0 until stopped (mid-run, each phase waits as long as it may take)")
	} else {
		fs.StringVar(&f.engine, "engine", "temporal", "the `ENGINE` whose phases to run: temporal")
		fs.DurationVar(&f.wait, "wait", 0, "give up after this `DURATION` without the cluster (0: wait until stopped)")
	}
	fs.StringVar(&f.address, "address", "", "the Temporal cluster's frontend, `HOST:PORT` (default: temporal.address)")
	fs.StringVar(&f.namespace, "namespace", "", "the Temporal `NAMESPACE` (default: temporal.namespace, else default)")
	fs.StringVar(&f.queue, "task-queue", "", "the task `QUEUE` of the phases (default: temporal.task_queue, else chant)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate `FILE` (PEM) for mTLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "client key `FILE` (PEM) for mTLS")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA certificate `FILE` (PEM) the server's certificate is checked against (default: the system's)")
	fs.StringVar(&f.tlsServerName, "tls-server-name", "", "the `NAME` the server's certificate must have (default: the address's host)")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "read a Temporal Cloud API key from `FILE` (or set TEMPORAL_API_KEY); it turns TLS on")
	if run {
		// Of use only with --engine temporal: run's help lists them apart.
		fs.VisitAll(func(fl *pflag.Flag) {
			if !before[fl.Name] && fl.Name != "engine" {
				fs.SetAnnotation(fl.Name, flagGroup, []string{temporalFlags})
			}
		})
	}
}

// settings merges the flags over the environment (the Temporal CLI's
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
// TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY) over the
// config (cfg may be nil): what is secret or local to a machine stays out
// of the committed config.
func (f *engineFlags) settings(cfg *spec.Config) (engine string, conn temporalengine.Connection, queue, repo string, heartbeat time.Duration, err error) {
	engine, queue, repo, heartbeat = f.engine, f.queue, f.repo, f.heartbeat
	conn.Address = first(f.address, os.Getenv("TEMPORAL_ADDRESS"))
	conn.Namespace = first(f.namespace, os.Getenv("TEMPORAL_NAMESPACE"))
	if cfg != nil {
		engine = first(engine, cfg.Engine)
		conn.Address = first(conn.Address, cfg.Temporal.Address)
		conn.Namespace = first(conn.Namespace, cfg.Temporal.Namespace)
		queue = first(queue, cfg.Temporal.TaskQueue)
		repo = first(repo, cfg.Temporal.Repo)
		if heartbeat == 0 && cfg.Temporal.Heartbeat != "" {
			if heartbeat, err = time.ParseDuration(cfg.Temporal.Heartbeat); err != nil {
				return "", conn, "", "", 0, &spec.Error{Path: cfg.Path, Msg: fmt.Sprintf("temporal.heartbeat: %v", err)}
			}
		}
	}
	engine = first(engine, spec.EngineLocal)
	switch engine {
	case spec.EngineLocal, spec.EngineTemporal:
	default:
		return "", conn, "", "", 0, &usageError{fmt.Errorf("--engine %s: not an engine (local or temporal)", engine)}
	}
	if f.wait < 0 {
		return "", conn, "", "", 0, &usageError{fmt.Errorf("--wait %s: not a duration to wait (0: until stopped)", f.wait)}
	}
	if heartbeat < 0 || heartbeat > 0 && heartbeat < time.Second {
		return "", conn, "", "", 0, &usageError{fmt.Errorf("--heartbeat %s: at least 1s", heartbeat)}
	}
	conn.Namespace = first(conn.Namespace, temporalengine.DefaultNS)
	queue = first(queue, temporalengine.DefaultQueue)
	conn.TLSCert = first(f.tlsCert, os.Getenv("TEMPORAL_TLS_CERT"))
	conn.TLSKey = first(f.tlsKey, os.Getenv("TEMPORAL_TLS_KEY"))
	conn.TLSCA = first(f.tlsCA, os.Getenv("TEMPORAL_TLS_CA"))
	conn.TLSServerName = first(f.tlsServerName, os.Getenv("TEMPORAL_TLS_SERVER_NAME"))
	if (conn.TLSCert == "") != (conn.TLSKey == "") {
		return "", conn, "", "", 0, &usageError{fmt.Errorf("--tls-cert and --tls-key go together")}
	}
	conn.APIKey = os.Getenv("TEMPORAL_API_KEY")
	if f.apiKeyFile != "" {
		data, err := os.ReadFile(f.apiKeyFile)
		if err != nil {
			return "", conn, "", "", 0, &usageError{fmt.Errorf("--api-key-file: %w", err)}
		}
		conn.APIKey = strings.TrimSpace(string(data))
	}
	if engine == spec.EngineTemporal && conn.Address == "" {
		return "", conn, "", "", 0, &usageError{fmt.Errorf("the temporal engine needs the cluster's address: --address HOST:PORT, TEMPORAL_ADDRESS, or temporal.address in .chant/config.md")}
	}
	return engine, conn, queue, repo, heartbeat, nil
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// pipeline connects to the workflow of the pipeline of repo's branch, for
// the temporal engine; nil for the local engine. With wait, it waits for a
// cluster out of reach (--wait), saying so there,
// and so does the engine; without, an unreachable cluster is an error.
func (f *engineFlags) pipeline(ctx context.Context, cfg *spec.Config, repo *gitrepo.Repo, identity string, wait io.Writer) (*temporalengine.Engine, error) {
	engine, conn, queue, repoURL, heartbeat, err := f.settings(cfg)
	if err != nil || engine != spec.EngineTemporal {
		return nil, err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	if repoURL == "" {
		repoURL = repo.Root
	}
	conn.Identity = identity
	if host, err := os.Hostname(); err == nil {
		conn.Identity += " on " + host
	}
	dial := func() (client.Client, error) { return temporalengine.Dial(conn) }
	if wait != nil {
		dial = func() (client.Client, error) {
			return temporalengine.DialWaiting(ctx, conn, f.wait, wait)
		}
	}
	cl, err := dial()
	if err != nil {
		return nil, err
	}
	patience := f.wait
	if patience == 0 {
		patience = math.MaxInt64 // until stopped
	}
	return &temporalengine.Engine{Client: cl, Address: conn.Address, WorkflowID: temporalengine.WorkflowID(repoURL, head.String()),
		Input: temporalengine.PipelineInput{Repo: repoURL, Branch: head.String(), Queue: queue, Heartbeat: heartbeat}, Log: wait, Patience: patience}, nil
}

// signalGate tells the pipeline's workflow, if the workspace runs on
// Temporal, of a gate decision just committed. The decision stands
// whatever happens here: the run reads it from the spec file.
func signalGate(g *globals, cfg *spec.Config, repo *gitrepo.Repo, id, status, by string) {
	var f engineFlags
	e, err := f.pipeline(context.Background(), cfg, repo, "chant "+map[bool]string{true: "approve", false: "reject"}[status == "approved"], nil)
	if e == nil && err == nil {
		return // local
	}
	if err == nil {
		defer e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err = e.Gate(ctx, id, status, by); err == nil {
			fmt.Fprintf(g.stdout, "Told the pipeline's workflow %s.\n", e.WorkflowID)
			return
		}
		if errors.Is(err, temporalengine.ErrNoWorkflow) {
			return
		}
	}
	fmt.Fprintf(g.stderr, "Note: could not tell the pipeline's workflow (%v); the next chant run reads the decision from the spec.\n", err)
}
