package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/spec"
)

// fixtureWorkspace is a workspace whose fixture is made by make.
func fixtureWorkspace(t *testing.T, make string) *spec.Workspace {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".chant", "specs"), 0o755)
	cfg := "---\nfixture:\n  name: demo\n  make: " + yamlString(make) + "\n---\n"
	os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte(cfg), 0o644)
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// yamlString is s as a YAML scalar (JSON's strings are YAML's).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// makeDemo makes a workspace of its own in $CHANT_FIXTURE_DIR, and counts
// its runs in made.log.
const makeDemo = `echo run >> made.log && cd "$CHANT_FIXTURE_DIR" && git init -q . && mkdir -p .chant/specs && printf -- '---\nproject:\n  name: made\n---\n' > .chant/config.md && echo making`

func TestMakeFixtureMakesItOnce(t *testing.T) {
	w := fixtureWorkspace(t, makeDemo)
	if tw, dir, exists, err := FixtureTarget(w); err != nil || exists || tw != w || dir != filepath.Join(w.Root, ".chant", "work", "demo") {
		t.Fatalf("before: %v %s %v %v", tw, dir, exists, err)
	}
	var out bytes.Buffer
	tw, created, err := MakeFixture(context.Background(), w, &out)
	if err != nil || !created {
		t.Fatalf("MakeFixture = %v, %v", created, err)
	}
	if tw.Root != filepath.Join(w.Root, ".chant", "work", "demo") || tw.Config.Project.Name != "made" || out.String() != "making\n" {
		t.Errorf("made %s (%q), said %q", tw.Root, tw.Config.Project.Name, out.String())
	}
	again, created, err := MakeFixture(context.Background(), w, &out)
	if err != nil || created || again.Root != tw.Root {
		t.Fatalf("again: %v %v %v", again, created, err)
	}
	if log, _ := os.ReadFile(filepath.Join(w.Root, "made.log")); string(log) != "run\n" {
		t.Errorf("make ran %q", log)
	}
	if left, _ := filepath.Glob(filepath.Join(w.Root, ".chant", "work", ".*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A make command that fails, or makes no workspace, leaves no fixture
// (and the next command runs it again); what a cut-off one left goes.
func TestMakeFixtureThatFailsLeavesNothing(t *testing.T) {
	for name, make := range map[string]string{
		"fails":          `touch "$CHANT_FIXTURE_DIR/half" && exit 3`,
		"no workspace":   `cd "$CHANT_FIXTURE_DIR" && git init -q .`,
		"no repository":  `mkdir -p "$CHANT_FIXTURE_DIR/.chant" && printf -- '---\n---\n' > "$CHANT_FIXTURE_DIR/.chant/config.md"`,
		"bad config":     `cd "$CHANT_FIXTURE_DIR" && git init -q . && mkdir .chant && printf -- '---\nproject: [\n---\n' > .chant/config.md`,
		"command absent": `no-such-command-here`,
	} {
		t.Run(name, func(t *testing.T) {
			w := fixtureWorkspace(t, make)
			work := filepath.Join(w.Root, ".chant", "work")
			os.MkdirAll(filepath.Join(work, ".demo.making-123"), 0o755) // a make cut off
			_, _, err := MakeFixture(context.Background(), w, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), ".chant/config.md: fixture.make") || fault.Of(err) != fault.Input {
				t.Fatalf("err = %v (class %v)", err, fault.Of(err))
			}
			if left, _ := os.ReadDir(work); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func TestFixtureConfigProblems(t *testing.T) {
	for cfg, want := range map[string]string{
		"fixture:\n  name: demo\n":                       "fixture.make: the command that makes the fixture's repository is missing",
		"fixture:\n  name: ../up\n  make: true\n":        `fixture.name: "../up" is not a fixture name`,
		"fixture:\n  make: true\n":                       `fixture.name: "" is not a fixture name`,
		"fixture:\n  name: demo\n  make: true\n  x: 1\n": "fixture.x",
	} {
		c, err := spec.ParseConfig(".chant/config.md", []byte("---\n"+cfg+"---\n"))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, p := range spec.ConfigProblems(c) {
			msgs = append(msgs, p.Message)
		}
		if got := strings.Join(msgs, "\n"); !strings.Contains(got, want) {
			t.Errorf("%q: problems %q, want %q", cfg, got, want)
		}
	}
}
