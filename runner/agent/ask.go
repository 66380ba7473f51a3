package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/procs"
	"github.com/chant-run/chant/spec"
)

// AskPrompt is what Ask asks the agent: an answer in one word, cheap.
const AskPrompt = "Reply with the single word: ready. Do not run any command or tool."

// Ask runs the agent the workspace's config asks for, end to end, on a
// question of one word, in the workspace (where agent.command's paths
// lead), in the sandbox phases run in, with the repository read-only and
// an empty directory of its own to write, within timeout: whether its
// program starts, its endpoint answers and its key is accepted, for chant
// doctor --agent. It says how the agent answered, or why it failed (its
// last words: "API Error: Unable to connect to API"). A replay agent is
// not asked.
func Ask(ctx context.Context, w *spec.Workspace, timeout time.Duration) (string, error) {
	if p := w.Config.Defaults.Provider; p == "" || p == "replay" {
		return "not asked: a replay agent has no endpoint", nil
	}
	start := time.Now()
	c, err := CommandFor(w, nil)
	if err != nil {
		return "", err
	}
	c.Timeout, c.ReplyFiles = timeout, false
	policy, err := SandboxPolicy(w)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "chant-ask-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		return "", err
	}
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		return "", err
	}
	cage := policy.CageFor(work, repo.Root, repo.CommonDir)
	defer cage.Close()
	res, err := c.Run(ctx, &Job{
		Spec: &spec.Spec{ID: "doctor", Title: "doctor"}, Workspace: w, Dir: w.Root, SpecFile: filepath.Join(work, "spec.md"),
		PromptName: "doctor", Log: io.Discard, Scratch: dir, Marker: procs.NewMarker(),
		Render: func() (string, error) { return AskPrompt, nil },
		Cage:   cage,
	})
	if errors.Is(err, ErrAgentTimeout) {
		// CLIs retry an endpoint out of reach for minutes, in silence.
		return "", fmt.Errorf("no answer within %s: its endpoint may be out of reach, or its key refused", timeout)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("answered in %s: %.80q", time.Since(start).Round(100*time.Millisecond), lastLine(res.Output)), nil
}

// ProgramVersion is the first line a program prints for --version.
func ProgramVersion(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if err != nil || line == "" {
		return "version unknown"
	}
	return "version " + line
}
