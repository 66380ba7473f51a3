package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/templates"
)

// What a phase's agent is given comes from the workspace: the spec, its
// prompt template and the files its context and informed_by name. These
// read them, confined to the repository.

// ErrPrompt means a prompt template is missing or not a template name.
var ErrPrompt = fault.New(fault.Input, "prompt")

// PromptName is the template a spec runs with: override (--prompt), else
// the spec's prompt:, else the config's defaults.prompt, else "standard".
func PromptName(c *Config, s *Spec, override string) string {
	for _, name := range []string{override, s.Prompt, c.Defaults.Prompt} {
		if name != "" {
			return name
		}
	}
	return "standard"
}

// PromptPath is the file of a prompt template.
func (w *Workspace) PromptPath(name string) string {
	return filepath.Join(w.ChantDir, "prompts", name+".md")
}

// ReadPrompt reads the prompt template name from .chant/prompts, refusing
// a name that is a path and a symbolic link on the way; without such a
// file, the template built in under that name, if any.
func (w *Workspace) ReadPrompt(name string) ([]byte, error) {
	if !ValidPromptName(name) {
		return nil, fmt.Errorf("%w %q: not a template name (letters, digits, '.', '-', '_')", ErrPrompt, name)
	}
	data, mode, err := safefs.Root{Dir: w.ChantDir}.ReadFile("prompts/"+name+".md", maxFile)
	if errors.Is(err, os.ErrNotExist) {
		if builtin, ok := templates.Prompt(name); ok {
			return builtin, nil
		}
	}
	if err == nil && mode == safefs.Symlink {
		err = fmt.Errorf("%w: .chant/prompts/%s.md", safefs.ErrSymlink, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrPrompt, name, err)
	}
	return data, nil
}

// InputFile is a file given to an agent, by its path relative to the
// workspace root; Missing marks a pattern that matched nothing.
type InputFile struct {
	Pattern string
	Path    string
	Data    []byte
	Missing bool
}

// ReadInputs reads the files that patterns (paths or globs relative to the
// workspace root) match, each pattern's matches sorted. A pattern or a
// match leaving the repository, and a file that is not a regular file, are
// errors.
func (w *Workspace) ReadInputs(patterns []string) ([]InputFile, error) {
	root, err := filepath.EvalSymlinks(w.Root)
	if err != nil {
		return nil, err
	}
	var out []InputFile
	for _, pat := range patterns {
		if !filepath.IsLocal(filepath.FromSlash(pat)) {
			return nil, fmt.Errorf("%s leaves the repository", pat)
		}
		matches, err := filepath.Glob(filepath.Join(w.Root, filepath.FromSlash(pat)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pat, err)
		}
		sort.Strings(matches)
		if len(matches) == 0 {
			out = append(out, InputFile{Pattern: pat, Path: pat, Missing: true})
		}
		for _, m := range matches {
			rel := filepath.ToSlash(w.Rel(m))
			if safefs.Escapes(root, filepath.Join(root, filepath.FromSlash(rel))) {
				return nil, fmt.Errorf("%s leads outside the repository through a symbolic link", rel)
			}
			data, err := safefs.ReadRegular(m, maxFile)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rel, err)
			}
			out = append(out, InputFile{Pattern: pat, Path: rel, Data: data})
		}
	}
	return out, nil
}

// BodyWithout returns the body without every level-2 section titled one of
// headings (up to the next level-1 or level-2 heading outside code), with
// CRLF line endings as LF.
func (s *Spec) BodyWithout(sections ...string) string {
	body := bytes.ReplaceAll(s.Body(), []byte("\r\n"), []byte("\n"))
	var b strings.Builder
	kept, skipping := 0, false
	doc.Headings(body, 0, func(off, level int, title string) bool {
		if !skipping {
			b.Write(body[kept:off])
		}
		kept, skipping = off, false
		for _, h := range sections {
			if level == 2 && strings.EqualFold(title, h) {
				skipping = true
			}
		}
		return true
	})
	if !skipping {
		b.Write(body[kept:])
	}
	return b.String()
}

// Section returns the text of the level-2 section titled heading, without
// its heading line ("" when there is none), with CRLF line endings as LF.
func (s *Spec) Section(heading string) string {
	body := bytes.ReplaceAll(s.Body(), []byte("\r\n"), []byte("\n"))
	start, end := -1, len(body)
	doc.Headings(body, 0, func(off, level int, title string) bool {
		if start >= 0 {
			end = off
			return false
		}
		if level == 2 && strings.EqualFold(title, heading) {
			start = doc.NextLine(body, off)
		}
		return true
	})
	if start < 0 {
		return ""
	}
	return string(body[start:end])
}
