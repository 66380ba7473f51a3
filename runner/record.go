package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/spec"
)

// RecordingsDir is where a workspace's replay recordings are, and where
// --record writes them.
func RecordingsDir(w *spec.Workspace) string {
	dir := w.Config.Replay.Dir
	if dir == "" {
		dir = filepath.Join(".chant", "recordings")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(w.Root, dir)
	}
	return dir
}

// saveRecording writes what the agent did for s as a replay recording
// (the format the replay agent reads): transcript.md, recording.yaml with
// the criteria it checked, and files/ with every file it wrote. It returns the paths written, relative to the repository.
func (r *run) saveRecording(s *spec.Spec, prog *progress) ([]string, error) {
	dir := filepath.Join(RecordingsDir(r.w), s.ID)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	specPath := r.repoPath(r.w.SpecPath(s.ID))
	var rec recording
	var written []string
	for _, p := range prog.Changed {
		if p == specPath || r.isLocal(p) {
			continue
		}
		// Targets must exist to verify, and other changes fail the phase, so
		// a recorded phase only writes files.
		data, err := os.ReadFile(filepath.Join(r.repo.Root, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		dst := filepath.Join(dir, "files", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return nil, err
		}
		written = append(written, r.repoPath(dst))
	}
	cur, err := spec.ReadFile(r.w.SpecPath(s.ID))
	if err != nil {
		return nil, err
	}
	for _, c := range cur.Criteria() {
		if c.Checked {
			rec.Checked = append(rec.Checked, c.Text)
		}
	}
	meta, err := yaml.Marshal(rec)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("# What the agent did for %s, recorded by chant run --record.\n", s.ID)
	for name, data := range map[string]string{
		"recording.yaml": header + string(meta),
		"transcript.md":  strings.TrimSpace(prog.Output) + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return nil, err
		}
		written = append(written, r.repoPath(filepath.Join(dir, name)))
	}
	return written, nil
}
