package phase

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
)

// oneWorker hands every phase to one in-process worker.
type oneWorker struct{ wk *Worker }

func (e oneWorker) Phase(ctx context.Context, req *RemotePhase, update func(string)) (*RemoteResult, error) {
	return e.wk.RunPhase(ctx, req)
}
func (e oneWorker) Done(string) {}

func TestAWorkerStartedAgainKillsWhatItsAgentsLeft(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":  "---\nproject: {name: remote}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n---\n",
		"agent.sh":          "mkdir -p out && echo made > out/a.txt && sed -i 's/- \\[ \\]/- [x]/' \"$CHANT_SPEC_FILE\"\n",
		".chant/specs/a.md": "---\ntarget_files: [out/a.txt]\n---\n# Make a\n\n## Acceptance Criteria\n\n- [ ] made\n",
	})
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	wk := &Worker{Identity: "w1", Dir: t.TempDir()}
	wk.init()
	c, err := wk.clone(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	// What an agent of a killed worker left running in slot "phase".
	marker := procs.NewMarker()
	left := exec.Command("sleep", "60")
	left.Env = append(os.Environ(), procs.MarkerVar+"="+marker)
	left.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := left.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { left.Wait(); close(exited) }()
	stateDir := filepath.Join(c.repo.StateDir(), "worker", SlotName(0))
	if err := saveProgress(stateDir, &progress{Spec: "old", PGID: left.Process.Pid, Marker: marker}); err != nil {
		t.Fatal(err)
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := OpenTree("", repo, ".", "phase")
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Workspace: w, Repo: repo, Paths: w.InRepo(repo.Root), StateDir: repo.StateDir(),
		Specs: func() *spec.Set { return set }, Engine: oneWorker{wk}, Now: time.Now}
	if _, err := env.Execute(context.Background(), set.Get("a"), tree, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		left.Process.Kill()
		t.Fatal("the process a killed worker's agent left is still running")
	}
}
