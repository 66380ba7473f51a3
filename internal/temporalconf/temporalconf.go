// Package temporalconf says where a command's phases run and how to reach a
// Temporal cluster, from its flags, the environment and the config. It
// holds no Temporal code: chant's everyday commands read these settings
// without loading the SDK, which only chant-temporal, the helper program
// that talks to the cluster (internal/temporalhelper), links.
package temporalconf

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
)

// Defaults of the settings.
const (
	DefaultQueue = "chant"
	DefaultNS    = "default"
	// DefaultPatience is how long a run waits for an unreachable cluster
	// to attach to its workflow: as long as a phase with the default
	// timeouts may take.
	DefaultPatience = 40 * time.Minute
)

// Connection is how to reach a Temporal cluster.
type Connection struct {
	Address   string // host:port of its frontend
	Namespace string // default "default"
	// TLS: a client certificate and key (mTLS), the CA that signs the
	// server's certificate (default: the system's), the server name to
	// check (default: the address's host). TLS is on when any is set, or
	// with an API key.
	TLSCert, TLSKey, TLSCA, TLSServerName string
	APIKey                                string
	Identity                              string // this process, as the cluster's UI shows it
}

// TLS reports whether the connection uses TLS.
func (c Connection) TLS() bool {
	return c.TLSCert != "" || c.TLSKey != "" || c.TLSCA != "" || c.TLSServerName != "" || c.APIKey != ""
}

// Settings are what a command's flags say of the engine: where phases
// run and how to reach the cluster. Resolve merges them over the
// environment and the config.
type Settings struct {
	Engine, Address, Namespace, Queue, Repo           string
	Heartbeat, Wait                                   time.Duration
	TLSCert, TLSKey, TLSCA, TLSServerName, APIKeyFile string
}

// usage is a setting's mistake: the user's to fix.
func usage(err error) error { return fault.Classify(fault.Input, err) }

// Resolve merges the settings (a command's flags) over the environment (the Temporal CLI's
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY,
// TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_API_KEY) over the
// config (cfg may be nil): what is secret or local to a machine stays out
// of the committed config.
func (f Settings) Resolve(cfg *spec.Config) (engine string, conn Connection, queue, repo string, heartbeat time.Duration, err error) {
	engine, queue, repo, heartbeat = f.Engine, f.Queue, f.Repo, f.Heartbeat
	conn.Address = cmp.Or(f.Address, os.Getenv("TEMPORAL_ADDRESS"))
	conn.Namespace = cmp.Or(f.Namespace, os.Getenv("TEMPORAL_NAMESPACE"))
	if cfg != nil {
		engine = cmp.Or(engine, cfg.Engine)
		conn.Address = cmp.Or(conn.Address, cfg.Temporal.Address)
		conn.Namespace = cmp.Or(conn.Namespace, cfg.Temporal.Namespace)
		queue = cmp.Or(queue, cfg.Temporal.TaskQueue)
		repo = cmp.Or(repo, cfg.Temporal.Repo)
		if heartbeat == 0 && cfg.Temporal.Heartbeat != "" {
			if heartbeat, err = time.ParseDuration(cfg.Temporal.Heartbeat); err != nil {
				return "", conn, "", "", 0, &spec.Error{Path: cfg.Path, Msg: fmt.Sprintf("temporal.heartbeat: %v", err)}
			}
		}
	}
	engine = cmp.Or(engine, spec.EngineLocal)
	switch engine {
	case spec.EngineLocal, spec.EngineTemporal:
	default:
		return "", conn, "", "", 0, usage(fmt.Errorf("--engine %s: not an engine (local or temporal)", engine))
	}
	if f.Wait < 0 {
		return "", conn, "", "", 0, usage(fmt.Errorf("--wait %s: not a duration to wait (0: until stopped)", f.Wait))
	}
	if heartbeat < 0 || heartbeat > 0 && heartbeat < time.Second {
		return "", conn, "", "", 0, usage(fmt.Errorf("--heartbeat %s: at least 1s", heartbeat))
	}
	conn.Namespace = cmp.Or(conn.Namespace, DefaultNS)
	queue = cmp.Or(queue, DefaultQueue)
	conn.TLSCert = cmp.Or(f.TLSCert, os.Getenv("TEMPORAL_TLS_CERT"))
	conn.TLSKey = cmp.Or(f.TLSKey, os.Getenv("TEMPORAL_TLS_KEY"))
	conn.TLSCA = cmp.Or(f.TLSCA, os.Getenv("TEMPORAL_TLS_CA"))
	conn.TLSServerName = cmp.Or(f.TLSServerName, os.Getenv("TEMPORAL_TLS_SERVER_NAME"))
	if (conn.TLSCert == "") != (conn.TLSKey == "") {
		return "", conn, "", "", 0, usage(fmt.Errorf("--tls-cert and --tls-key go together"))
	}
	conn.APIKey = os.Getenv("TEMPORAL_API_KEY")
	if f.APIKeyFile != "" {
		data, err := os.ReadFile(f.APIKeyFile)
		if err != nil {
			return "", conn, "", "", 0, usage(fmt.Errorf("--api-key-file: %w", err))
		}
		conn.APIKey = strings.TrimSpace(string(data))
	}
	if engine == spec.EngineTemporal && conn.Address == "" {
		return "", conn, "", "", 0, usage(fmt.Errorf("the temporal engine needs the cluster's address: --address HOST:PORT, TEMPORAL_ADDRESS, or temporal.address in .chant/config.md"))
	}
	return engine, conn, queue, repo, heartbeat, nil
}

// Pipeline is the workflow of one repository's branch, as a run (or a
// decision told to it) reaches it.
type Pipeline struct {
	Conn      Connection
	Queue     string
	Repo      string // where workers fetch the repository
	Branch    string // the reference HEAD names
	Heartbeat time.Duration
	// Patience is how long to wait for a cluster out of reach when the
	// pipeline is first reached (--wait; 0 never given: until stopped).
	Patience time.Duration
}

// Pipeline is the pipeline of repo's branch for the temporal engine, nil
// for the local engine. identity names the command, as the cluster shows
// it (with the host's name).
func (f Settings) Pipeline(cfg *spec.Config, repo *gitrepo.Repo, identity string) (*Pipeline, error) {
	engine, conn, queue, repoURL, heartbeat, err := f.Resolve(cfg)
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
	patience := f.Wait
	if patience == 0 {
		patience = math.MaxInt64 // until stopped
	}
	return &Pipeline{Conn: conn, Queue: queue, Repo: repoURL, Branch: head.String(), Heartbeat: heartbeat, Patience: patience}, nil
}
