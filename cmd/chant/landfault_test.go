package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A phase whose work and record cannot be committed, because the disk is
// full or the object store read-only, leaves the working tree as it was
// before the run: the spec is not left in_progress, nor its failure
// record uncommitted. Each case runs in a mount namespace of its own,
// with the repository on a small tmpfs.
func TestFailedLandingLeavesTheTreeAsBefore(t *testing.T) {
	requireChant(t)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	args := []string{"-m"}
	if os.Geteuid() != 0 {
		args = []string{"-U", "-r", "-m"}
	}
	for name, fault := range map[string]struct{ agent, before string }{
		// The agent fills the disk the repository is on.
		"disk full": {agent: `echo done > src/out.txt; sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"; dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null; true`},
		"read-only object store": {
			agent:  `echo done > src/out.txt; sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"`,
			before: `mount --bind .git/objects .git/objects && mount -o remount,bind,ro .git/objects`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			mnt := filepath.Join(dir, "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "agent.sh"), []byte(fault.agent+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			script := `set -e
mount --make-rprivate /
mount -t tmpfs -o size=4m tmpfs "$MNT"
cd "$MNT"
git init -q -b main repo
cd repo
mkdir -p .chant/specs .chant/prompts src
printf -- '---\nproject: {name: df}\ndefaults: {provider: command, prompt: standard}\nagent:\n  command: sh %s\nsandbox: off\n---\n' "$AGENT" > .chant/config.md
echo '{{spec.title}}' > .chant/prompts/standard.md
printf -- '---\ntarget_files: [src/out.txt]\n---\n# One phase\n\n## Acceptance Criteria\n\n- [ ] done\n' > .chant/specs/one.md
echo hi > src/a.txt
git add . && git commit -qm init
` + fault.before + `
set +e
"$CHANT" run
echo "exit $?"
echo "--- git status"
git status --porcelain
echo "--- spec"
git diff --quiet HEAD -- .chant/specs/one.md && echo "spec as committed"
git log --format=%s
`
			cmd := exec.Command(unshare, append(args, "sh", "-c", script)...)
			cmd.Env = append(os.Environ(), "MNT="+mnt, "AGENT="+filepath.Join(dir, "agent.sh"), "CHANT="+chantBin,
				"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
				"CHANT_WORKTREE_DIR="+filepath.Join(dir, "worktrees"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "Operation not permitted") {
					t.Skipf("no mount namespace here: %s", out)
				}
				t.Fatalf("%v\n%s", err, out)
			}
			text := string(out)
			t.Log(text)
			status := text[strings.Index(text, "--- git status\n")+len("--- git status\n") : strings.Index(text, "--- spec\n")]
			switch {
			case !strings.Contains(text, "exit 1\n"):
				t.Errorf("the run did not exit 1:\n%s", text)
			case status != "":
				t.Errorf("git status is not clean after the run:\n%s\n%s", status, text)
			case !strings.Contains(text, "spec as committed"):
				t.Errorf("the spec file is not as before the run:\n%s", text)
			case !strings.Contains(text, "its spec is as it was before the run"):
				t.Errorf("the run does not say the failure went unrecorded:\n%s", text)
			}
		})
	}
}
