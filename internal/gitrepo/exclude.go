package gitrepo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Exclude makes git ignore patterns (gitignore syntax, relative to the work
// tree root) in this clone only, through info/exclude, which is never
// committed. Patterns already there are not added again.
func (r *Repo) Exclude(patterns ...string) error {
	path := filepath.Join(r.CommonDir, "info", "exclude")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(old), "\n") {
		have[strings.TrimSpace(line)] = true
	}
	out := string(old)
	for _, p := range patterns {
		if !have[p] {
			if out != "" && !strings.HasSuffix(out, "\n") {
				out += "\n"
			}
			out += p + "\n"
		}
	}
	if out == string(old) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	tmp := path + ".chant-tmp"
	if err := writeSynced(tmp, []byte(out)); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
