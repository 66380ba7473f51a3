package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// readmeSection is the README section whose commands TestReadmeOwnRepository
// follows.
const readmeSection = "## Use chant in your own repository"

// TestReadmeOwnRepository runs the commands of the README's "Use chant in
// your own repository", exactly as written there, in a fresh repository with
// the real Claude Code CLI against the scripted model server, so that the
// README cannot drift from what chant does.
func TestReadmeOwnRepository(t *testing.T) {
	requireChant(t)
	commands := readmeCommands(t)
	requireAgent(t, "claude")
	module := modulePath(t)

	var script strings.Builder
	script.WriteString(`# The README's "Use chant in your own repository", line by line.
modelserver model.txt
exec git init -q -b main .
exec git config user.name 'Ada Lovelace'
exec git config user.email ada@example.com
exec git add README.md .gitignore
exec git commit -qm initial

`)
	for _, line := range commands {
		switch fields := strings.Fields(line); {
		case fields[0] == "go" && len(fields) == 3 && fields[1] == "install":
			// Both programs: chant, and chant-temporal it runs for the
			// Temporal engine.
			if want := module + "/cmd/...@latest"; fields[2] != want {
				t.Fatalf("README installs %s, want %s", fields[2], want)
			}
			script.WriteString("# " + line + ": the chant under test is on PATH\n")
		case fields[0] == "sudo" && len(fields) >= 4 && fields[1] == "apt-get" && fields[2] == "install" && fields[3] == "bubblewrap":
			// Installing is the machine's business: it is there.
			script.WriteString("# " + line + ": bubblewrap is installed\nexec bwrap --version\n")
		case fields[0] == "cd":
			script.WriteString("# " + line + ": the test's repository\n")
		default:
			script.WriteString("exec sh -c " + scriptQuote(line) + "\n")
		}
	}
	script.WriteString(`
# Claude Code did both specs; all is completed and committed; the log has
# its words; the work is the agent's, the approval the user's.
exits 0 chant doctor
stdout '^Agent: +Claude Code \(defaults.provider: claude\)$'
exits 0 chant status
stdout '^2 specs: 2 completed$'
exec git status --porcelain
! stdout .
exits 0 chant log 002
stdout '^said +I published the greeting: published.txt is a copy of hello.txt\.$'
stdout '^run +cp hello.txt published.txt'
exits 0 chant diff 002
stdout '^[0-9-]+-002-[0-9a-z]+''s last attempt landed as [0-9a-f]{7} '
stdout '^\+hello$'
exec git log --format='%an / %cn: %s'
stdout '^Claude Code \(chant\) / Ada Lovelace: chant\([0-9-]+-001-[0-9a-z]+\): Greet the reader$'
stdout '^Claude Code \(chant\) / Ada Lovelace: chant\([0-9-]+-002-[0-9a-z]+\): Publish the greeting$'
stdout '^Ada Lovelace / Ada Lovelace: chant\([0-9-]+-002-[0-9a-z]+\): approve$'
exec cat published.txt
stdout '^hello$'
asked anthropic 4

-- README.md --
# your repository
-- .gitignore --
# the test's own files
.tmp/
model.txt
-- model.txt --
when: Publish the greeting
run: cp hello.txt published.txt && sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
say: I published the greeting: published.txt is a copy of hello.txt.
when: Greet the reader
run: printf 'hello\n' > hello.txt && sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
say: I wrote hello.txt and ticked its box.
`)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readme.txtar"), []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, scriptParams(t, dir, nil))
}

// readmeCommands returns the lines of the first sh block of the README's
// section, checking that it is the whole journey: init with an agent, add,
// run, approve, run again.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(projectRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n"+readmeSection+"\n")
	if i < 0 {
		t.Fatalf("README.md has no section %q", readmeSection)
	}
	text = text[i+1:]
	if j := strings.Index(text[len(readmeSection):], "\n## "); j >= 0 {
		text = text[:len(readmeSection)+j]
	}
	m := regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n").FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("README.md's %q has no ```sh block", readmeSection)
	}
	var lines []string
	for _, line := range strings.Split(m[1], "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	joined := "\n" + strings.Join(lines, "\n") + "\n"
	for _, want := range []string{"\nchant init --agent claude\n", "\nchant add ", "\nchant run\n", "\nchant approve "} {
		if !strings.Contains(joined, want) {
			t.Fatalf("README.md's %q does not have %q:%s", readmeSection, strings.TrimSpace(want), joined)
		}
	}
	if strings.Count(joined, "\nchant run\n") < 2 {
		t.Fatalf("README.md's %q does not run again after approving:%s", readmeSection, joined)
	}
	return lines
}

// modulePath is this module's path, from go.mod.
func modulePath(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(projectRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	return string(m[1])
}

// scriptQuote quotes s as one testscript argument.
func scriptQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
