package temporalconf

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
)

func clearEnv(t *testing.T) {
	for _, v := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_API_KEY"} {
		t.Setenv(v, "")
	}
}

// TestResolveOrder: a flag wins over the environment, which wins over
// the config; defaults fill the rest.
func TestResolveOrder(t *testing.T) {
	clearEnv(t)
	cfg := &spec.Config{Engine: spec.EngineTemporal}
	cfg.Temporal.Address, cfg.Temporal.Namespace, cfg.Temporal.TaskQueue, cfg.Temporal.Heartbeat = "cfg:1", "cfgns", "cfgq", "45s"
	engine, conn, queue, _, hb, err := Settings{}.Resolve(cfg)
	if err != nil || engine != spec.EngineTemporal || conn.Address != "cfg:1" || conn.Namespace != "cfgns" || queue != "cfgq" || hb != 45*time.Second {
		t.Fatalf("from the config: %v %+v %v %v %v", engine, conn, queue, hb, err)
	}
	t.Setenv("TEMPORAL_ADDRESS", "env:2")
	t.Setenv("TEMPORAL_API_KEY", "key")
	if _, conn, _, _, _, _ = (Settings{}).Resolve(cfg); conn.Address != "env:2" || conn.APIKey != "key" || !conn.TLS() {
		t.Errorf("the environment over the config: %+v", conn)
	}
	if _, conn, _, _, _, _ = (Settings{Address: "flag:3"}).Resolve(cfg); conn.Address != "flag:3" {
		t.Errorf("a flag over the environment: %+v", conn)
	}
	engine, conn, queue, _, _, err = Settings{}.Resolve(nil)
	if err != nil || engine != spec.EngineLocal || conn.Namespace != DefaultNS || queue != DefaultQueue {
		t.Errorf("defaults: %v %+v %v %v", engine, conn, queue, err)
	}
}

func TestResolveRefuses(t *testing.T) {
	clearEnv(t)
	for _, c := range []struct {
		s    Settings
		want string
	}{
		{Settings{Engine: "cloud"}, "--engine cloud: not an engine"},
		{Settings{Engine: spec.EngineTemporal}, "the temporal engine needs the cluster's address"},
		{Settings{Wait: -time.Second}, "--wait -1s"},
		{Settings{Heartbeat: time.Millisecond}, "--heartbeat 1ms: at least 1s"},
		{Settings{TLSCert: "c.pem"}, "--tls-cert and --tls-key go together"},
		{Settings{APIKeyFile: filepath.Join(t.TempDir(), "none")}, "--api-key-file"},
	} {
		_, _, _, _, _, err := c.s.Resolve(nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || fault.Of(err) != fault.Input {
			t.Errorf("%+v: %v", c.s, err)
		}
	}
	cfg := &spec.Config{Path: ".chant/config.md"}
	cfg.Temporal.Heartbeat = "often"
	var serr *spec.Error
	if _, _, _, _, _, err := (Settings{}).Resolve(cfg); !errors.As(err, &serr) || serr.Path != ".chant/config.md" {
		t.Errorf("a bad heartbeat in the config: %v", err)
	}
}

func TestPipeline(t *testing.T) {
	clearEnv(t)
	repo, err := gitrepo.Open(testgit.Repo(t, map[string]string{"a.txt": "a\n"}))
	if err != nil {
		t.Fatal(err)
	}
	if pl, err := (Settings{}).Pipeline(nil, repo, "chant run"); pl != nil || err != nil {
		t.Errorf("local: %+v %v", pl, err)
	}
	host, _ := os.Hostname()
	pl, err := Settings{Engine: spec.EngineTemporal, Address: "a:1"}.Pipeline(nil, repo, "chant run")
	if err != nil || pl.Repo != repo.Root || pl.Branch != "main" || pl.Patience != math.MaxInt64 || pl.Conn.Identity != "chant run on "+host {
		t.Errorf("temporal, waiting until stopped: %+v %v", pl, err)
	}
	pl, _ = Settings{Engine: spec.EngineTemporal, Address: "a:1", Repo: "ssh://x/y", Wait: time.Minute}.Pipeline(nil, repo, "chant run")
	if pl.Repo != "ssh://x/y" || pl.Patience != time.Minute {
		t.Errorf("temporal, --repo-url and --wait: %+v", pl)
	}
}
