package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
)

// Malformed inputs: each gives a clear error naming the file (and line,
// where there is one), a non-zero exit, and leaves every file as it was.
// A malformed spec is run by name (a plain run runs the other specs, see
// invalid.txtar); a malformed config stops every run.
func TestMalformedInputs(t *testing.T) {
	requireChant(t)
	good := map[string]string{
		".chant/config.md":                    "---\nproject: {name: m}\n---\n",
		".chant/specs/ok.md":                  "---\ntarget_files: [ok.txt]\n---\n# Ok\n\n## Acceptance Criteria\n\n- [ ] ok\n",
		".chant/recordings/ok/transcript.md":  "ok\n",
		".chant/recordings/ok/recording.yaml": "checked: [ok]\n",
		".chant/recordings/ok/files/ok.txt":   "ok\n",
	}
	spec := func(fm string) string { return "---\n" + fm + "---\n# Bad\n\n## Acceptance Criteria\n\n- [ ] x\n" }
	outside := t.TempDir()
	tests := []struct {
		name  string
		files map[string]string
		link  [2]string // symbolic link: path in the repository → target
		args  []string
		run   string // the spec to run (default bad; the config's cases run all)
		code  int
		err   string // regexp the error output must match
	}{
		{name: "bad YAML", files: map[string]string{".chant/specs/bad.md": spec("type: code\nstatus: [\n")}, err: `\.chant/specs/bad\.md:3:\d+: invalid YAML`},
		{name: "tab indentation", files: map[string]string{".chant/specs/bad.md": spec("type: code\n\tstatus: pending\n")}, err: `bad\.md:3:1: invalid YAML: found a tab`},
		{name: "duplicate key", files: map[string]string{".chant/specs/bad.md": spec("status: pending\nstatus: failed\n")}, err: `bad\.md:3:1: duplicate key "status" \(first on line 2\)`},
		{name: "unterminated frontmatter", files: map[string]string{".chant/specs/bad.md": "---\ntype: code\n# Bad\n"}, err: `bad\.md:1:1: frontmatter opened on line 1 is never closed`},
		{name: "invalid type", files: map[string]string{".chant/specs/bad.md": spec("type: implementation\n")}, err: `bad\.md:2:7: type: "implementation" is not one of`},
		{name: "invalid status", files: map[string]string{".chant/specs/bad.md": spec("status: done\n")}, err: `bad\.md:2:9: status: "done"`},
		{name: "invalid approval", files: map[string]string{".chant/specs/bad.md": spec("approval: {required: true, status: maybe}\n")}, err: `bad\.md:2:\d+: approval\.status: "maybe"`},
		{name: "approved without by", files: map[string]string{".chant/specs/bad.md": spec("approval: {required: true, status: approved}\n")}, err: `bad\.md:2:1: approval: approved without by and at`},
		{name: "depends_on mapping", files: map[string]string{".chant/specs/bad.md": spec("depends_on: {a: b}\n")}, err: `bad\.md:2:13: depends_on: expected a string or a list`},
		{name: "unknown dependency", files: map[string]string{".chant/specs/bad.md": spec("depends_on: [nope]\n")}, err: `bad\.md:2:14: depends_on: nope does not exist`},
		{name: "cycle", run: "x", files: map[string]string{".chant/specs/x.md": spec("depends_on: [y]\n"), ".chant/specs/y.md": spec("depends_on: [x]\n")}, err: `x\.md:2:1: dependency cycle: x → y → x`},
		{name: "self dependency", files: map[string]string{".chant/specs/bad.md": spec("depends_on: bad\n")}, err: `bad\.md:2:1: dependency cycle: bad → bad`},
		{name: "absolute target", files: map[string]string{".chant/specs/bad.md": spec("target_files: [/etc/passwd]\n")}, err: `bad\.md:2:16: target_files: /etc/passwd leaves the repository`},
		{name: "target with ..", files: map[string]string{".chant/specs/bad.md": spec("target_files: [../x.go]\n")}, err: `bad\.md:2:16: target_files: \.\./x\.go leaves the repository`},
		{name: "informed_by with ..", files: map[string]string{".chant/specs/bad.md": spec("informed_by: [docs/../../x.md]\n")}, err: `bad\.md:2:15: informed_by: docs/\.\./\.\./x\.md leaves`},
		{name: "absolute context", files: map[string]string{".chant/specs/bad.md": spec("context: [/root/.ssh/id_rsa]\n")}, err: `bad\.md:2:11: context: /root/\.ssh/id_rsa leaves`},
		{name: "non-UTF-8", files: map[string]string{".chant/specs/bad.md": "---\ntype: code\n---\n# Bad \xff\n"}, err: `bad\.md:4:1: file is not valid UTF-8`},
		{name: "check expect", files: map[string]string{".chant/specs/bad.md": spec("checks:\n- run: make\n  expect: maybe\n")}, err: `bad\.md:3:1: checks: expect "maybe" is not pass or fail`},
		{name: "check without run", files: map[string]string{".chant/specs/bad.md": spec("checks:\n- expect: pass\n")}, err: `bad\.md:3:1: checks: a check has no run command`},
		{name: "frontmatter is a list", files: map[string]string{".chant/specs/bad.md": spec("- a\n- b\n")}, err: `bad\.md:2:1: frontmatter must be a YAML mapping`},
		{name: "duplicate ID", run: "ok", files: map[string]string{".chant/archive/old/ok.md": spec("")}, err: `\.chant/archive/old/ok\.md:1:1: duplicate spec ID ok: also \.chant/specs/ok\.md`},
		{name: "missing title", files: map[string]string{".chant/specs/bad.md": "---\ntype: code\n---\nNo heading.\n"}, err: `bad\.md:4:1: no title`},
		{name: "replay_count not a number", files: map[string]string{".chant/specs/bad.md": spec("replay_count: many\n")}, err: `bad\.md:2:15: replay_count: cannot unmarshal`},
		{name: "bare CR", files: map[string]string{".chant/specs/bad.md": spec("type: code\rstatus: pending\n")}, err: `bad\.md:2: carriage return without line feed`},
		{name: "target through a symlink", files: map[string]string{".chant/specs/bad.md": spec("target_files: [out/x.go]\n")}, link: [2]string{"out", outside}, err: `bad\.md:2:16: target_files: out/x\.go leads outside the repository through a symbolic link`},
		{name: "config bad YAML", files: map[string]string{".chant/config.md": "---\nproject: [\n---\n"}, err: `\.chant/config\.md:2:1: invalid YAML`},
		{name: "config wrong shape", files: map[string]string{".chant/config.md": "---\nproject: 3\n---\n"}, err: `\.chant/config\.md:2: invalid config: cannot unmarshal`},
		{name: "config unterminated", files: map[string]string{".chant/config.md": "---\nproject: {name: m}\n"}, err: `\.chant/config\.md:1:1: frontmatter opened on line 1 is never closed`},
		{name: "unknown provider", files: map[string]string{".chant/config.md": "---\ndefaults: {provider: gpt}\n---\n"}, err: `\.chant/config\.md:2:1: unknown agent provider: defaults\.provider "gpt" \(known: replay, command, claude, codex, gemini, ollama, opencode\)`},
		{name: "bad agent timeout", files: map[string]string{".chant/config.md": "---\ndefaults: {provider: command}\nagent: {command: x, timeout: soon}\n---\n"}, err: `\.chant/config\.md:3:1: agent\.timeout "soon" is not a duration`},
		{name: "command without command", files: map[string]string{".chant/config.md": "---\ndefaults: {provider: command}\n---\n"}, err: `\.chant/config\.md:2:1: defaults\.provider is command but agent\.command is empty`},
		{name: "fixture without make", files: map[string]string{".chant/config.md": "---\nfixture:\n  name: demo\n---\n"}, err: `\.chant/config\.md:3: fixture\.make: the command that makes the fixture's repository is missing`},
		{name: "fixture not a mapping", files: map[string]string{".chant/config.md": "---\nfixture: issue-42\n---\n"}, err: `\.chant/config\.md:2: invalid config: cannot unmarshal`},
		{name: "fixture make fails", files: map[string]string{".chant/config.md": "---\nfixture:\n  name: demo\n  make: echo cannot >&2; exit 3\n---\n"}, err: `\.chant/config\.md: fixture\.make "echo cannot >&2; exit 3": exit status 3`},
		{name: "bad expires_after", files: map[string]string{".chant/config.md": "---\napproval: {expires_after: soon}\n---\n", ".chant/specs/g.md": spec("depends_on: [ok]\napproval: {required: true, status: pending}\n")}, args: []string{"status"}, err: `\.chant/config\.md: approval\.expires_after "soon" is not a duration`},
		{name: "recording YAML", run: "ok", files: map[string]string{".chant/recordings/ok/recording.yaml": "checked: [\n"}, err: `\.chant/recordings/ok/recording\.yaml:\d+:\d+: invalid recording`},
		{name: "recording escapes by path", run: "ok", files: map[string]string{".chant/recordings/ok/files/out/ok.txt": "x\n"}, link: [2]string{"out", outside}, err: `\.chant/recordings/ok/files/out/ok\.txt:1:1: the recording writes out/ok\.txt, outside the repository`},
		{name: "approve with an empty --by", args: []string{"approve", "ok", "--by", ""}, err: `no reviewer name: give it with --by NAME`},
		{name: "approve a non-gate", args: []string{"approve", "ok", "--by", "me"}, err: `not a human gate: ok \(\.chant/specs/ok\.md\)`},
		{name: "unknown spec", args: []string{"show", "nope"}, err: `no spec matches "nope"`},
		{name: "unknown command", args: []string{"frobnicate"}, err: `unknown command "frobnicate"`},
		{name: "bad flag", args: []string{"run", "--fast"}, err: `unknown flag: --fast`},
		{name: "dag format", args: []string{"dag", "--format", "svg"}, err: `want mermaid, dot or json`},
		{name: "reject without reason", args: []string{"reject", "ok", "--by", "me"}, err: `a rejection needs a reason`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range good {
				files[k] = v
			}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := testgit.Repo(t, files)
			if tt.link[0] != "" {
				if err := os.Symlink(tt.link[1], filepath.Join(dir, tt.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, dir)
			args := tt.args
			if args == nil {
				name := tt.run
				if name == "" {
					name = "bad"
				}
				args = []string{"run", name}
				if _, config := tt.files[".chant/config.md"]; config {
					args = []string{"run"}
				}
			}
			_, errOut, code := chant(t, append([]string{"-C", dir}, args...)...)
			if code == 0 {
				t.Fatalf("chant %v succeeded", args)
			}
			if !regexp.MustCompile(tt.err).MatchString(errOut) {
				t.Errorf("chant %v: exit %d, error does not match %q:\n%s", args, code, tt.err, errOut)
			}
			for path, content := range snapshot(t, dir) {
				if old, ok := before[path]; ok && !bytes.Equal(old, content) {
					t.Errorf("%s changed", path)
				}
			}
			for path := range before {
				if _, err := os.Stat(filepath.Join(dir, path)); err != nil {
					t.Errorf("%s is gone", path)
				}
			}
		})
	}
	if len(tests) < 30 {
		t.Fatalf("only %d malformed inputs", len(tests))
	}
}

// snapshot reads every file under dir (the .git directory included), except
// chant's lock files, which exist to be taken.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(rel, ".lock") || strings.HasPrefix(rel, filepath.Join(".chant", "logs")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil {
			out[rel] = data
		}
		return nil
	})
	return out
}

// Inputs whose problems are many stay linear: a spec with thousands of
// unknown dependencies is one decode of its frontmatter (each problem
// decoded it again), and a long dependency cycle is spelled out once, in
// lint, not by every spec in it (status printed the whole path per spec).
func TestManyProblemsStayLinear(t *testing.T) {
	requireChant(t)
	const deps, cycle = 3000, 300
	files := map[string]string{".chant/config.md": "---\nproject: {name: many}\ndefaults: {provider: command}\nagent: {command: 'true'}\n---\n"}
	var b strings.Builder
	b.WriteString("---\ndepends_on:\n")
	for i := range deps {
		fmt.Fprintf(&b, "  - missing-%04d\n", i)
	}
	b.WriteString("---\n# Many\n\n## Acceptance Criteria\n\n- [ ] x\n")
	files[".chant/specs/many.md"] = b.String()
	for i := range cycle {
		files[fmt.Sprintf(".chant/specs/c%03d.md", i)] = fmt.Sprintf("---\ndepends_on: [c%03d]\n---\n# C%d\n\n## Acceptance Criteria\n\n- [ ] x\n", (i+1)%cycle, i)
	}
	repo := testgit.Repo(t, files)
	out, errOut, code := chant(t, "-C", repo, "lint")
	if code != 1 || strings.Count(out, "does not exist") != deps {
		t.Fatalf("lint: exit %d, %d unknown dependencies reported, want %d\n%.2000s", code, strings.Count(out, "does not exist"), deps, errOut)
	}
	// Each where it is written: the last one on its own line.
	if want := fmt.Sprintf(".chant/specs/many.md:%d:5: error: depends_on: missing-%04d does not exist", deps+2, deps-1); !strings.Contains(out, want) {
		t.Errorf("lint does not place the last unknown dependency: want %q", want)
	}
	if strings.Count(out, "dependency cycle") != 1 {
		t.Errorf("lint reports the cycle %d times, want once", strings.Count(out, "dependency cycle"))
	}
	out, errOut, code = chant(t, "-C", repo, "status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^c001 .*blocked: in a dependency cycle of 300 specs through c000 \(chant lint shows it\)$`).MatchString(out) {
		t.Errorf("status does not name the cycle in a line:\n%.3000s", out)
	}
	// The cycle's path is in the one problem of its first spec, not in
	// each of the 300 lines.
	if n := strings.Count(out, "c150 → c151"); n != 1 {
		t.Errorf("status spells the cycle out %d times, want once", n)
	}
}
