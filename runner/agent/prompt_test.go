package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chant-run/chant/spec"
)

func TestRenderPrompt(t *testing.T) {
	root := t.TempDir()
	w := writeWorkspace(t, root, map[string]string{
		".chant/config.md":               "---\nproject: {name: demo}\ndefaults: {prompt: main}\n---\n",
		".chant/prompts/main.md":         "---\nname: main\n---\n# {{spec.title}} ({{spec.id}}) for {{ project.name }}\nFile: {{spec.path}}\nTargets: {{spec.target_files}}\n## Context\n{{spec.context}}\n## Research\n{{spec.informed_by}}\n## Task\n{{spec.description}}\n",
		".chant/prompts/other.md":        "Other: {{spec.id}}\n",
		".chant/prompts/bad.md":          "x\n{{spec.id}} {{spec.bogus}}\n",
		".chant/research/a.md":           "finding A\n",
		".chant/research/b.md":           "finding B with ``` fence\n",
		"src/ctx.go":                     "package src\n",
		".chant/specs/001-do-it.md":      "---\ntarget_files: [src/x.go, src/y.go]\ncontext: [src/ctx.go]\ninformed_by: [\".chant/research/*.md\", missing.md]\n---\n# Do it\n\nThe details.\n",
		".chant/specs/002-escapes.md":    "---\ncontext: [../secret]\n---\n# Escapes\n",
		".chant/specs/003-own-prompt.md": "---\nprompt: other\n---\n# Own\n",
	})
	set, _ := w.Load()
	render := func(id, override string) (string, error) {
		c, err := spec.ReadContract(w, set.Get(id), override)
		if err != nil {
			return "", err
		}
		return Render(w, c)
	}
	got, err := render("001-do-it", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Do it (001-do-it) for demo\n", "File: .chant/specs/001-do-it.md\n", "Targets: src/x.go, src/y.go\n",
		"### src/ctx.go\n\n```\npackage src\n```", "### .chant/research/a.md\n\n```\nfinding A\n```",
		"### .chant/research/b.md\n\n````\nfinding B with ``` fence\n````", "### missing.md\n\n(not found)",
		"## Task\n# Do it\n\nThe details.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("prompt lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "name: main") {
		t.Error("the template's frontmatter leaked into the prompt")
	}
	if got, _ := render("003-own-prompt", ""); got != "Other: 003-own-prompt\n" {
		t.Errorf("spec prompt: %q", got)
	}
	if got, _ := render("003-own-prompt", "main"); !strings.HasPrefix(got, "# Own") {
		t.Errorf("--prompt override: %q", got)
	}
	if _, err := render("001-do-it", "bad"); !errors.Is(err, ErrPrompt) || !strings.Contains(err.Error(), ".chant/prompts/bad.md:2:13: unknown placeholder {{spec.bogus}}") {
		t.Errorf("bad template: %v", err)
	}
	if _, err := render("001-do-it", "nope"); !errors.Is(err, ErrPrompt) {
		t.Errorf("missing template: %v", err)
	}
	if _, err := render("002-escapes", ""); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("context outside the repository: %v", err)
	}
}

func TestBuiltInPromptAndEmptySections(t *testing.T) {
	root := t.TempDir()
	w := writeWorkspace(t, root, map[string]string{
		".chant/config.md":      "---\nproject: {name: demo}\ndefaults: {prompt: standard}\n---\n",
		".chant/specs/greet.md": "---\ntarget_files: [hello.txt]\n---\n# Greet\n\n## Acceptance Criteria\n\n- [ ] hello.txt says hello\n",
		".chant/prompts/own.md": "# {{spec.title}}\n\n## Context\n\n{{spec.context}}\n\n## Task\n\n{{spec.description}}\n\n```\n## not a heading\n```\n",
	})
	render := func(prompt string) string {
		t.Helper()
		set, _ := w.Load()
		c, err := spec.ReadContract(w, set.Get("greet"), prompt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Render(w, c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// No .chant/prompts/standard.md: the built-in one, whose sections for
	// context and research are left out when the spec has neither.
	got := render("")
	for _, want := range []string{`Your task is the spec greet, "Greet",`, "## The task\n\n# Greet\n\n## Acceptance Criteria\n\n- [ ] hello.txt says hello\n", "Change only these files: hello.txt."} {
		if !strings.Contains(got, want) {
			t.Errorf("built-in prompt lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"## Context", "## Research", "\n\n\n"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("built-in prompt has %q:\n%s", unwanted, got)
		}
	}
	// A template's empty section goes; a heading in a fence is text.
	if got, want := render("own"), "# Greet\n\n## Task\n\n# Greet\n\n## Acceptance Criteria\n\n- [ ] hello.txt says hello\n\n```\n## not a heading\n```\n"; got != want {
		t.Errorf("own template:\n%q\nwant\n%q", got, want)
	}
	// A file of the same name overrides the built-in template.
	os.WriteFile(filepath.Join(root, ".chant/prompts/standard.md"), []byte("Mine: {{spec.id}}\n"), 0o644)
	if got := render(""); got != "Mine: greet\n" {
		t.Errorf("overriding standard.md: %q", got)
	}
}

// writeWorkspace writes files (path → content) into root and opens it.
func writeWorkspace(t *testing.T, root string, files map[string]string) *spec.Workspace {
	t.Helper()
	for p, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(c), 0o644)
	}
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The built-in prompt lists the spec's checks, each with how it must end,
// so that the agent can run them before it finishes; a spec without checks
// gets no empty section.
func TestPromptListsChecks(t *testing.T) {
	w := writeWorkspace(t, t.TempDir(), map[string]string{
		".chant/config.md": "---\nproject: {name: demo}\n---\n",
		".chant/specs/a.md": "---\ntarget_files: [a.go]\nchecks:\n- go test ./...\n- run: grep -q `date` a.go\n  expect: fail\n---\n# A\n\n" +
			"## Acceptance Criteria\n\n- [ ] done\n",
		".chant/specs/b.md": "---\ntarget_files: [b.go]\n---\n# B\n",
	})
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	render := func(id string) string {
		c, err := spec.ReadContract(w, set.Get(id), "")
		if err != nil {
			t.Fatal(err)
		}
		out, err := Render(w, c)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := render("a")
	for _, want := range []string{"## The checks\n", "- `go test ./...` must pass (exit 0)\n", "- ``grep -q `date` a.go`` must fail (exit other than 0)\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("the prompt of a has no %q:\n%s", want, got)
		}
	}
	if got := render("b"); strings.Contains(got, "## The checks") {
		t.Errorf("a spec without checks is shown a checks section:\n%s", got)
	}
}
