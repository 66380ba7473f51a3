package isolation

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/chant-run/chant/internal/gitindex"
	"github.com/chant-run/chant/internal/gitrepo"
)

// ignorer answers whether a new path is ignored, by the rules of the base
// commit's .gitignore files (read from the commit, never from the tree:
// an agent that writes a .gitignore hides nothing), the repository's
// info/exclude and the user's global excludes.
type ignorer struct{ m gitignore.Matcher }

func newIgnorer(repo *gitrepo.Repo, entries []gitindex.Entry) (*ignorer, error) {
	var ps []gitignore.Pattern
	rootFS := osfs.New("/")
	if sys, err := gitignore.LoadSystemPatterns(rootFS); err == nil {
		ps = append(ps, sys...)
	}
	global, err := gitignore.LoadGlobalPatterns(rootFS)
	if err == nil && len(global) == 0 {
		// core.excludesFile unset: git's default place.
		dir := os.Getenv("XDG_CONFIG_HOME")
		if home, herr := os.UserHomeDir(); dir == "" && herr == nil {
			dir = filepath.Join(home, ".config")
		}
		if dir != "" {
			if data, err := os.ReadFile(filepath.Join(dir, "git", "ignore")); err == nil {
				global = parsePatterns(string(data), nil)
			}
		}
	}
	ps = append(ps, global...)
	if data, err := os.ReadFile(filepath.Join(repo.CommonDir, "info", "exclude")); err == nil {
		ps = append(ps, parsePatterns(string(data), nil)...)
	}
	var files []gitindex.Entry
	for _, e := range entries {
		if e.Path == ".gitignore" || strings.HasSuffix(e.Path, "/.gitignore") {
			files = append(files, e)
		}
	}
	// Deeper files take precedence: they come later.
	sort.SliceStable(files, func(i, j int) bool {
		return strings.Count(files[i].Path, "/") < strings.Count(files[j].Path, "/")
	})
	for _, e := range files {
		data, err := repo.ReadBlob(e.Hash)
		if err != nil {
			return nil, err
		}
		var domain []string
		if dir := filepath.ToSlash(filepath.Dir(e.Path)); dir != "." {
			domain = strings.Split(dir, "/")
		}
		ps = append(ps, parsePatterns(string(data), domain)...)
	}
	return &ignorer{m: gitignore.NewMatcher(ps)}, nil
}

func parsePatterns(text string, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

func (ig *ignorer) match(p string, isDir bool) bool {
	return ig.m.Match(strings.Split(p, "/"), isDir)
}
