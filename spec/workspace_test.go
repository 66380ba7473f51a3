package spec

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec/doc"
)

func newWorkspace(t *testing.T, specs map[string]string) *Workspace {
	t.Helper()
	w, err := OpenWorkspace(testgit.Workspace(t, specs))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestFindWorkspace(t *testing.T) {
	w := newWorkspace(t, nil)
	deep := filepath.Join(w.Root, "a", "b")
	os.MkdirAll(deep, 0o755)
	found, err := FindWorkspace(deep)
	if err != nil || found.Root != w.Root {
		t.Fatalf("FindWorkspace(%s) = %v, %v", deep, found, err)
	}
	if _, err := FindWorkspace(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a chant workspace") {
		t.Fatalf("outside a workspace: %v", err)
	}
}

func TestUpdateRefusesToWriteAnInvalidFile(t *testing.T) {
	w := newWorkspace(t, map[string]string{"a": "---\nstatus: pending\n---\n# A\n"})
	before, _ := os.ReadFile(w.SpecPath("a"))
	_, err := w.Update("a", func(s *Spec, e *doc.Editor) error {
		e.Set("status", "nonsense")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "would make the file invalid") {
		t.Fatalf("Update = %v", err)
	}
	after, _ := os.ReadFile(w.SpecPath("a"))
	if !bytes.Equal(before, after) {
		t.Fatal("a refused update changed the file")
	}
}

// Concurrent read-modify-writes of one spec file lose nothing: goroutines
// here, processes in TestUpdateAcrossProcesses.
func TestUpdateFromGoroutinesLosesNothing(t *testing.T) {
	w := newWorkspace(t, map[string]string{"a": "---\nstatus: pending\n---\n# A\n"})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := w.Update("a", appendEntry(fmt.Sprintf("g%d-%d", g, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assertEntries(t, w, 8, 10, "g")
}

func TestUpdateAcrossProcesses(t *testing.T) {
	if os.Getenv("CHANT_UPDATE_WORKER") != "" {
		return
	}
	w := newWorkspace(t, map[string]string{"a": "---\nstatus: pending\n---\n# A\n"})
	var cmds []*exec.Cmd
	for p := 0; p < 4; p++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUpdateWorker$")
		cmd.Env = append(os.Environ(), "CHANT_UPDATE_WORKER=p"+strconv.Itoa(p), "CHANT_UPDATE_ROOT="+w.Root)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	assertEntries(t, w, 4, 25, "p")
}

func TestUpdateWorker(t *testing.T) {
	name := os.Getenv("CHANT_UPDATE_WORKER")
	if name == "" {
		t.Skip("worker process only")
	}
	w, err := OpenWorkspace(os.Getenv("CHANT_UPDATE_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		if _, err := w.Update("a", appendEntry(fmt.Sprintf("%s-%d", name, i))); err != nil {
			t.Fatal(err)
		}
	}
}

func appendEntry(entry string) func(*Spec, *doc.Editor) error {
	return func(s *Spec, e *doc.Editor) error {
		e.AppendToSection("Log", "- "+entry)
		e.Set("last", entry)
		return nil
	}
}

func assertEntries(t *testing.T, w *Workspace, workers, each int, prefix string) {
	t.Helper()
	data, err := os.ReadFile(w.SpecPath("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("a.md", data); err != nil {
		t.Fatalf("the file no longer parses: %v", err)
	}
	for g := 0; g < workers; g++ {
		for i := 0; i < each; i++ {
			if !bytes.Contains(data, []byte(fmt.Sprintf("- %s%d-%d\n", prefix, g, i))) {
				t.Errorf("update %s%d-%d was lost", prefix, g, i)
			}
		}
	}
	if n := bytes.Count(data, []byte("## Log")); n != 1 {
		t.Errorf("%d Log sections", n)
	}
}
