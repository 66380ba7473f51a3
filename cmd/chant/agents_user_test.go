package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/chant-run/chant/internal/isolation"
)

// testUser is the ordinary user TestRealAgentsAsUser runs chant as; it is
// made when missing.
const testUser = "chant-agent-test"

// TestRealAgentsAsUser runs the real agents' scripts (testdata/agents)
// as an ordinary user: chant and git run through wrappers that drop to
// testUser (setpriv, no capabilities), so that the sandbox is made with
// unprivileged user namespaces, as on a developer's machine. It needs
// root, to make the user; CI runs as root.
func TestRealAgentsAsUser(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if os.Geteuid() != 0 {
		t.Skip("needs root to make an ordinary user (CI runs as root); as an ordinary user, TestRealAgents is this test")
	}
	for _, tool := range []string{"useradd", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	uid, gid := ensureTestUser(t)
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Skip("needs git")
	}
	// The wrappers: give the user what root made in the script's
	// directory and home, then run the program as the user.
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	os.Chmod(filepath.Dir(bin), 0o711)
	for name, real := range map[string]string{"chant": chantBin, "git": realGit} {
		script := fmt.Sprintf("#!/bin/sh\nchown -R %d:%d \"$PWD\" \"$HOME\" 2>/dev/null\nexec setpriv --reuid=%d --regid=%d --clear-groups --inh-caps=-all --bounding-set=-all -- %s \"$@\"\n",
			uid, gid, uid, gid, real)
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, preset := range npmPresets() {
		name := preset.Name
		t.Run(name, func(t *testing.T) {
			requireAgent(t, name)
			cli, _ := lookAgent(name)
			if out, err := exec.Command("setpriv", fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", gid), "--clear-groups",
				"test", "-x", cli).CombinedOutput(); err != nil {
				msg := fmt.Sprintf("%s (%s) cannot be run by the user %s: %v %s; .ci/run installs the CLIs where any user can", name, cli, testUser, err, out)
				if os.Getenv(agentCLIsEnv) != "" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
			p := scriptParams(t, "testdata/agents", map[string]string{
				"AGENT": name, "AUTHOR_RE": regexp.QuoteMeta(preset.Author().Name), "API": modelAPIs[name],
			})
			setup := p.Setup
			p.Setup = func(e *testscript.Env) error {
				if err := setup(e); err != nil {
					return err
				}
				// The user reaches the script's directory, and keeps its
				// worktrees in it (ignored by the scripts' .gitignore).
				for d := filepath.Dir(e.WorkDir); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
					os.Chmod(d, 0o711)
				}
				e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
				e.Setenv(isolation.DirEnv, filepath.Join(e.WorkDir, ".tmp", "worktrees"))
				e.Setenv("CHANT_TEST_USER", testUser)
				return os.Chown(e.WorkDir, uid, gid)
			}
			testscript.Run(t, p)
		})
	}
}

// ensureTestUser makes testUser when missing and returns its IDs.
func ensureTestUser(t *testing.T) (uid, gid int) {
	t.Helper()
	u, err := user.Lookup(testUser)
	if err != nil {
		out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/bin/sh", testUser).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "already exists") {
			t.Fatalf("useradd %s: %v %s", testUser, err, out)
		}
		if u, err = user.Lookup(testUser); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	return uid, gid
}
