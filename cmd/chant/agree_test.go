package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
)

// TestLintAndRunAgree takes every kind of problem chant reports (each code
// of spec.ProblemCodes) and checks that lint, status and run agree on it:
// an error makes lint exit 1 and its spec invalid in status, and run leaves
// that spec untouched and exits 2 (a workspace's own error: run refuses
// everything); a warning changes nothing: the spec runs.
func TestLintAndRunAgree(t *testing.T) {
	requireChant(t)
	specFile := func(fm, body string) string {
		return "---\n" + fm + "---\n" + body
	}
	good := func(id, fm string) string {
		return specFile("target_files: ["+id+".txt]\n"+fm, "# "+strings.ToUpper(id[:1])+id[1:]+"\n\n## Acceptance Criteria\n\n- [ ] done\n")
	}
	commandConfig := "---\nproject: {name: agree}\ndefaults: {provider: command}\nagent: {command: sh agent.sh}\n---\n"
	base := map[string]string{
		".chant/config.md":     commandConfig,
		".chant/specs/ok.md":   good("ok", ""),
		".chant/prompts/p.md":  "Do {{spec.title}}.\n",
		".chant/prompts/pb.md": "Do {{spec.nope}}.\n",
		".gitignore":           ".chant/logs/\n",
		"agent.sh": `for t in $(sed -n 's/^target_files: \[\(.*\)\]$/\1/p' "$CHANT_SPEC_FILE" | tr ',' ' '); do echo done > "$t"; done
sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
`,
		".chant/recordings/ok/transcript.md":   "done\n",
		".chant/recordings/ok/recording.yaml":  "checked: [done]\n",
		".chant/recordings/ok/files/ok.txt":    "done\n",
		".chant/recordings/sub/transcript.md":  "done\n",
		".chant/recordings/sub/recording.yaml": "checked: [done]\n",
		".chant/recordings/sub/files/sub.txt":  "done\n",
	}
	outside := t.TempDir()
	cases := []struct {
		code  string
		files map[string]string
		link  [2]string // a symbolic link in the repository → its target
		spec  string    // the spec it concerns ("": the workspace)
		noGit bool
	}{
		{code: spec.CodeParse, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "status: done\n")}},
		{code: spec.CodeDuplicateID, spec: "ok", files: map[string]string{".chant/archive/old/ok.md": good("ok", "status: completed\n")}},
		{code: spec.CodeFileName, spec: "sub\nx", files: map[string]string{".chant/specs/sub\nx.md": good("sub", "")}},
		{code: spec.CodePromptName, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "prompt: ../p\n")}},
		{code: spec.CodeMissingDependency, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "depends_on: [nope]\n")}},
		{code: spec.CodeCancelledDependency, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "depends_on: [gone]\n"),
			".chant/specs/gone.md": good("gone", "status: cancelled\n")}},
		{code: spec.CodeDriverDependency, spec: "drv.1", files: map[string]string{".chant/specs/drv.md": good("drv", "type: driver\n"),
			".chant/specs/drv.1.md": good("drv.1", "depends_on: [drv]\n")}},
		{code: spec.CodeMissingMember, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "type: driver\nmembers: [nope]\n")}},
		{code: spec.CodeApproval, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "approval: {required: true, status: approved}\n")}},
		{code: spec.CodeOwnFile, spec: "sub", files: map[string]string{".chant/specs/sub.md": specFile("target_files: [.chant/specs/sub.md]\n", "# Sub\n\n## Acceptance Criteria\n\n- [ ] done\n")}},
		{code: spec.CodeOutside, spec: "sub", files: map[string]string{".chant/specs/sub.md": specFile("target_files: [../sub.txt]\n", "# Sub\n\n## Acceptance Criteria\n\n- [ ] done\n")}},
		{code: spec.CodeThroughLink, spec: "sub", link: [2]string{"out", outside}, files: map[string]string{".chant/specs/sub.md": specFile("target_files: [out/sub.txt]\n", "# Sub\n\n## Acceptance Criteria\n\n- [ ] done\n")}},
		{code: spec.CodeNoTitle, spec: "sub", files: map[string]string{".chant/specs/sub.md": specFile("target_files: [sub.txt]\n", "No heading.\n\n## Acceptance Criteria\n\n- [ ] done\n")}},
		{code: spec.CodeNoCriteria, spec: "sub", files: map[string]string{".chant/specs/sub.md": specFile("target_files: [sub.txt]\n", "# Sub\n")}},
		{code: spec.CodeNothingToVerify, spec: "sub", files: map[string]string{".chant/specs/sub.md": specFile("labels: [x]\n", "# Sub\n")}},
		{code: spec.CodeCycle, spec: "x", files: map[string]string{".chant/specs/x.md": good("x", "depends_on: [y]\n"), ".chant/specs/y.md": good("y", "depends_on: [x]\n")}},
		{code: spec.CodeConfig, files: map[string]string{".chant/config.md": strings.Replace(commandConfig, "---\n", "---\nisolation: {copy: [../secrets]}\n", 1)}},
		{code: spec.CodeUnknownKey, spec: "ok", files: map[string]string{".chant/config.md": strings.Replace(commandConfig, "---\n", "---\ntelemetry: true\n", 1)}},
		{code: spec.CodeAgent, files: map[string]string{".chant/config.md": "---\nproject: {name: agree}\ndefaults: {provider: gpt}\n---\n"}},
		{code: spec.CodeNoAgent, spec: "ok", files: map[string]string{".chant/config.md": "---\nproject: {name: agree}\n---\n"}},
		{code: spec.CodeNotGit, noGit: true},
		{code: spec.CodePrompt, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "prompt: nosuch\n")}},
		{code: spec.CodePlaceholder, spec: "sub", files: map[string]string{".chant/specs/sub.md": good("sub", "prompt: pb\n")}},
		{code: spec.CodeRecording, spec: "sub", files: map[string]string{".chant/config.md": "---\nproject: {name: agree}\ndefaults: {provider: replay}\n---\n",
			".chant/specs/sub.md": good("sub", ""), ".chant/recordings/sub/recording.yaml": "checked: [\n"}},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tc.files {
				files[k] = v
			}
			dir := testgit.Repo(t, files)
			if tc.noGit {
				os.RemoveAll(filepath.Join(dir, ".git"))
			}
			if tc.link[0] != "" {
				if err := os.Symlink(tc.link[1], filepath.Join(dir, tc.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			isError := spec.ProblemCodes[tc.code]

			// lint reports it, with its code and severity.
			out, _, code := chant(t, "-C", dir, "lint", "--json")
			var problems []spec.Problem
			if err := json.Unmarshal([]byte(out), &problems); err != nil {
				t.Fatalf("lint --json: %v\n%s", err, out)
			}
			found := false
			for _, p := range problems {
				if p.Code == tc.code && (p.Severity == spec.SeverityError) == isError {
					found = true
				}
				if p.Code == "" || p.Severity == spec.SeverityError != spec.ProblemCodes[p.Code] {
					t.Errorf("problem without its code's severity: %+v", p)
				}
			}
			if !found || (code == 1) != isError {
				t.Fatalf("lint exit %d, problems %+v; want code %s (error: %v)", code, problems, tc.code, isError)
			}

			// status says invalid exactly for an error of the spec.
			out, _, _ = chant(t, "-C", dir, "status", "--json")
			var st plan.StatusJSON
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status --json: %v\n%s", err, out)
			}
			states := map[string]plan.SpecJSON{}
			for _, s := range st.Specs {
				states[s.ID] = s
			}
			if tc.spec != "" {
				s, ok := states[tc.spec]
				if !ok {
					t.Fatalf("status does not list %q", tc.spec)
				}
				if (s.State == "invalid") != isError {
					t.Errorf("status: %s is %s", tc.spec, s.State)
				}
			}

			// run: an error leaves its spec (or, the workspace's, every
			// spec) as it was and exits 2; a warning does not stop it.
			before := snapshot(t, dir)
			_, errOut, code := chant(t, "-C", dir, "run")
			after := snapshot(t, dir)
			switch {
			case isError && tc.spec == "":
				if code != 2 {
					t.Errorf("run: exit %d, want 2\n%s", code, errOut)
				}
				for p, data := range before {
					if string(after[p]) != string(data) {
						t.Errorf("run with a workspace error changed %s", p)
					}
				}
			case isError:
				if code != 2 {
					t.Errorf("run: exit %d, want 2\n%s", code, errOut)
				}
				file := filepath.Join(".chant", "specs", tc.spec+".md")
				if _, ok := before[file]; ok && string(after[file]) != string(before[file]) {
					t.Errorf("run changed the invalid spec %s", file)
				}
			default:
				if code != 0 {
					t.Errorf("run: exit %d, want 0\n%s", code, errOut)
				}
				out, _, _ = chant(t, "-C", dir, "status", "--json", "--status", "completed")
				if !strings.Contains(out, `"id":"`+tc.spec+`"`) {
					t.Errorf("%s did not complete:\n%s", tc.spec, out)
				}
			}
			covered[tc.code] = true
		})
	}
	var missing []string
	for code := range spec.ProblemCodes {
		if !covered[code] {
			missing = append(missing, code)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("problem codes with no case here: %s", strings.Join(missing, ", "))
	}
}
