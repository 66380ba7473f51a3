package agent

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/chant-run/chant/spec"
)

// ErrPrompt means a prompt template is missing or uses an unknown
// placeholder.
var ErrPrompt = spec.ErrPrompt

// Placeholders are the names a prompt template may use, as in Chant.
var Placeholders = []string{
	"project.name", "spec.id", "spec.title", "spec.description", "spec.path",
	"spec.target_files", "spec.context", "spec.informed_by", "spec.checks",
}

// placeholderRE is compiled when first used, not at every start of chant.
var placeholderRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`) })

// UnknownPlaceholders returns the placeholders of a template that chant
// does not know, with their lines.
func UnknownPlaceholders(template []byte) []spec.Problem {
	var out []spec.Problem
	for i, line := range strings.Split(string(template), "\n") {
		for _, m := range placeholderRE().FindAllStringSubmatchIndex(line, -1) {
			name := line[m[2]:m[3]]
			if !slices.Contains(Placeholders, name) {
				out = append(out, spec.Problem{Line: i + 1, Col: m[0] + 1, Severity: spec.SeverityError, Code: spec.CodePlaceholder,
					Message: fmt.Sprintf("unknown placeholder {{%s}} (known: %s)", name, strings.Join(Placeholders, ", "))})
			}
		}
	}
	return out
}

// Render fills the prompt template of what a phase read (c) for its spec.
// The template's own frontmatter is dropped; {{spec.description}} is the
// spec's body without chant's records (Approval Discussion, Agent Output);
// {{spec.context}} and {{spec.informed_by}} inline the files read, each
// under its path; {{spec.checks}} lists the checks and how each must end.
// Everything it uses is what an approval covers.
func Render(w *spec.Workspace, c *spec.Contract) (string, error) {
	s := c.Spec
	if c.Template == nil {
		return "", fmt.Errorf("%w %q: %s does not exist", ErrPrompt, c.PromptName, w.Rel(w.PromptPath(c.PromptName)))
	}
	tmpl := c.Template
	if bad := UnknownPlaceholders(tmpl); len(bad) > 0 {
		return "", fmt.Errorf("%w: %s:%d:%d: %s", ErrPrompt, w.Rel(w.PromptPath(c.PromptName)), bad[0].Line, bad[0].Col, bad[0].Message)
	}
	if doc, err := spec.Parse(c.PromptName+".md", tmpl); err == nil {
		tmpl = doc.Body()
	}
	values := map[string]string{
		"project.name":      w.Config.Project.Name,
		"spec.id":           s.ID,
		"spec.title":        s.Title,
		"spec.description":  strings.TrimSpace(s.BodyWithout(spec.RecordSections...)),
		"spec.path":         w.Rel(w.SpecPath(s.ID)),
		"spec.target_files": strings.Join(s.TargetFiles, ", "),
		"spec.context":      inline(c.Inputs, s.Context),
		"spec.informed_by":  inline(c.Inputs, s.InformedBy),
		"spec.checks":       checkList(s.Checks),
	}
	return fill(string(tmpl), func(line string) string {
		return placeholderRE().ReplaceAllStringFunc(line, func(m string) string {
			return values[placeholderRE().FindStringSubmatch(m)[1]]
		})
	}), nil
}

// fill renders a template line by line. A heading whose section renders
// to nothing is left out with it (a spec without context: has no
// "## Context" in its prompt), and blank lines do not pile up, so that an
// agent is not shown empty headings to wonder about. Sections are the
// template's: headings in what placeholders bring (a spec's own "# Title")
// do not end them.
func fill(template string, render func(line string) string) string {
	lines := strings.Split(template, "\n")
	levels := make([]int, len(lines)) // heading levels, outside fences
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
		default:
			n := len(line) - len(strings.TrimLeft(line, "#"))
			if n > 0 && n <= 6 && (len(line) == n || line[n] == ' ') {
				levels[i] = n
			}
		}
	}
	var out []string
	blank := false
	for i := 0; i < len(lines); i++ {
		if l := levels[i]; l > 0 {
			end := i + 1
			for end < len(lines) && (levels[end] == 0 || levels[end] > l) {
				end++
			}
			empty := true
			for _, line := range lines[i+1 : end] {
				if strings.TrimSpace(render(line)) != "" {
					empty = false
					break
				}
			}
			if empty {
				i = end - 1
				continue
			}
		}
		line := render(lines[i])
		if strings.TrimSpace(line) == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, line)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// checkList lists the spec's checks, each with how it must end, as the
// agent can run them itself before it finishes; "" without checks.
func checkList(checks []spec.Check) string {
	if len(checks) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("When you are done, chant runs these commands in the repository's root, and each must end\n" +
		"as said. Run them yourself before you finish.\n\n")
	for _, c := range checks {
		must := "must pass (exit 0)"
		if c.Expect == spec.ExpectFail {
			must = "must fail (exit other than 0)"
		}
		fmt.Fprintf(&b, "- %s %s\n", codeSpan(c.Run), must)
	}
	return strings.TrimSpace(b.String())
}

// codeSpan is text as a Markdown code span, its delimiter longer than any
// run of backticks in it.
func codeSpan(text string) string {
	fence := "`"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") {
		text = " " + text + " "
	}
	return fence + text + fence
}

// inline returns the input files read for patterns, each under a heading
// with its path.
func inline(files []spec.InputFile, patterns []string) string {
	var b strings.Builder
	for _, f := range files {
		if !slices.Contains(patterns, f.Pattern) {
			continue
		}
		if f.Missing {
			fmt.Fprintf(&b, "### %s\n\n(not found)\n\n", f.Path)
			continue
		}
		fence := "```"
		for strings.Contains(string(f.Data), fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "### %s\n\n%s\n%s\n%s\n\n", f.Path, fence, strings.TrimRight(string(f.Data), "\n"), fence)
	}
	return strings.TrimSpace(b.String())
}
