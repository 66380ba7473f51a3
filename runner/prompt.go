package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/chant-run/chant/spec"
)

// ErrPrompt means a prompt template is missing or uses an unknown
// placeholder.
var ErrPrompt = errors.New("prompt")

// Placeholders are the names a prompt template may use, as in Chant.
var Placeholders = []string{
	"project.name", "spec.id", "spec.title", "spec.description", "spec.path",
	"spec.target_files", "spec.context", "spec.informed_by",
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`)

// PromptName is the template a spec runs with: override (--prompt), else
// the spec's prompt:, else the config's defaults.prompt, else "standard".
func PromptName(w *spec.Workspace, s *spec.Spec, override string) string {
	for _, name := range []string{override, s.Prompt, w.Config.Defaults.Prompt} {
		if name != "" {
			return name
		}
	}
	return "standard"
}

// PromptPath is the file of a prompt template.
func PromptPath(w *spec.Workspace, name string) string {
	return filepath.Join(w.ChantDir, "prompts", name+".md")
}

// UnknownPlaceholders returns the placeholders of a template that chant
// does not know, with their lines.
func UnknownPlaceholders(template []byte) []spec.Problem {
	var out []spec.Problem
	for i, line := range strings.Split(string(template), "\n") {
		for _, m := range placeholderRE.FindAllStringSubmatchIndex(line, -1) {
			name := line[m[2]:m[3]]
			if !slices.Contains(Placeholders, name) {
				out = append(out, spec.Problem{Line: i + 1, Col: m[0] + 1, Severity: spec.SeverityError,
					Message: fmt.Sprintf("unknown placeholder {{%s}} (known: %s)", name, strings.Join(Placeholders, ", "))})
			}
		}
	}
	return out
}

// RenderPrompt fills the spec's prompt template. The template's own
// frontmatter is dropped; {{spec.context}} inlines the files listed in
// context:, {{spec.informed_by}} the research listed in informed_by: (globs
// allowed), each under its path.
func RenderPrompt(w *spec.Workspace, s *spec.Spec, override string) (string, error) {
	name := PromptName(w, s, override)
	path := PromptPath(w, name)
	tmpl, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrPrompt, name, err)
	}
	if bad := UnknownPlaceholders(tmpl); len(bad) > 0 {
		return "", fmt.Errorf("%w: %s:%d:%d: %s", ErrPrompt, w.Rel(path), bad[0].Line, bad[0].Col, bad[0].Message)
	}
	if doc, err := spec.Parse(path, tmpl); err == nil {
		tmpl = doc.Body()
	}
	values := map[string]string{
		"project.name":      w.Config.Project.Name,
		"spec.id":           s.ID,
		"spec.title":        s.Title,
		"spec.description":  strings.TrimSpace(string(s.Body())),
		"spec.path":         w.Rel(w.SpecPath(s.ID)),
		"spec.target_files": strings.Join(s.TargetFiles, ", "),
	}
	if values["spec.context"], err = inline(w, s.Context); err != nil {
		return "", fmt.Errorf("spec %s: context: %w", s.ID, err)
	}
	if values["spec.informed_by"], err = inline(w, s.InformedBy); err != nil {
		return "", fmt.Errorf("spec %s: informed_by: %w", s.ID, err)
	}
	return placeholderRE.ReplaceAllStringFunc(string(tmpl), func(m string) string {
		return values[placeholderRE.FindStringSubmatch(m)[1]]
	}), nil
}

// inline returns the files matched by patterns (relative to the workspace
// root), each under a heading with its path.
func inline(w *spec.Workspace, patterns []string) (string, error) {
	var b strings.Builder
	for _, pat := range patterns {
		if !filepath.IsLocal(filepath.FromSlash(pat)) {
			return "", fmt.Errorf("%s leaves the repository", pat)
		}
		matches, err := filepath.Glob(filepath.Join(w.Root, filepath.FromSlash(pat)))
		if err != nil {
			return "", err
		}
		sort.Strings(matches)
		if len(matches) == 0 {
			fmt.Fprintf(&b, "### %s\n\n(not found)\n\n", pat)
		}
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				return "", err
			}
			fence := "```"
			for strings.Contains(string(data), fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "### %s\n\n%s\n%s\n%s\n\n", w.Rel(m), fence, strings.TrimRight(string(data), "\n"), fence)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// PromptProblems checks every template in .chant/prompts for unknown
// placeholders.
func PromptProblems(w *spec.Workspace) ([]spec.Problem, error) {
	paths, err := filepath.Glob(filepath.Join(w.ChantDir, "prompts", "*.md"))
	if err != nil {
		return nil, err
	}
	var out []spec.Problem
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, prob := range UnknownPlaceholders(data) {
			prob.Path = w.Rel(p)
			out = append(out, prob)
		}
	}
	return out, nil
}
