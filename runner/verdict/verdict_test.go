package verdict

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/sandbox"
	"github.com/chant-run/chant/spec"
)

// A check's output and what the relay of its network list says are
// written into one buffer by two goroutines: under -race this failed
// while the buffer was a plain one.
func TestCheckHearsItsRelay(t *testing.T) {
	if err := sandbox.Probe(); err != nil {
		if os.Getenv(sandbox.RequireEnv) != "" {
			t.Fatalf("%s is set: %v", sandbox.RequireEnv, err)
		}
		t.Skip(err)
	}
	// A listed port that nothing listens on: the relay says so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	wt := filepath.Join(dir, "wt")
	if err := os.Mkdir(wt, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cage := &sandbox.Cage{
		Policy: sandbox.Policy{Network: sandbox.NetList, Hosts: []sandbox.Endpoint{{Host: "127.0.0.1", Port: port}}},
		Dir:    wt, Tmp: wt + ".tmp", State: wt + ".sandbox",
		Visible: []string{dir, exe}, Helper: []string{exe, sandbox.HelperCommand},
	}
	run := fmt.Sprintf(`echo before; bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && cat <&3'; echo after`, port)
	res := RunCheck(context.Background(), spec.Check{Run: run, Expect: spec.ExpectPass}, wt, "t", cage)
	for _, want := range []string{"before", "after", fmt.Sprintf("sandbox: 127.0.0.1:%d", port)} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the check's output lacks %q:\n%s", want, res.Output)
		}
	}
}

// An agent that changed its spec's text beyond its boxes is told where,
// in words that read.
func TestSpecChangesSaysWhere(t *testing.T) {
	src := "---\ntarget_files: [a.go]\n---\n# A\n\nDo it.\n\n## Acceptance Criteria\n\n- [ ] done\n"
	before, err := spec.Parse("a.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := SpecChanges(before, []byte(strings.Replace(src, "Do it.", "Do it later.", 1)))
	if want := "the agent changed its spec's text (line 6); an agent may only tick the boxes of its acceptance criteria"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = SpecChanges(before, []byte(strings.Replace(src, "[a.go]", "[a.go, b.go]", 1)))
	if !strings.HasPrefix(got, "the agent changed its spec's target_files;") {
		t.Errorf("got %q", got)
	}
}
