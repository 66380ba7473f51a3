package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
	"github.com/chant-run/chant/spec/provenance"
)

// doneWorkspace makes (once) a repository of n completed specs, each
// informed by a notes file and, every other one, depending on the spec
// before it, their target files committed. With records, each records
// what it was built on and made, as a phase records it (computed by
// package provenance against the commit), so that status computes
// staleness for every spec (none is stale); without, the same specs as
// completed by a chant that recorded nothing.
func (b *bench) doneWorkspace(name string, n int, records bool) (string, error) {
	dir := filepath.Join(b.work, name)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	files := map[string]string{
		".chant/config.md": "---\nproject: {name: bench}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n---\n",
		"agent.sh":         "exit 0\n", "notes.md": "What the work is built on.\n",
	}
	for i := 0; i < n; i++ {
		id := specID(i)
		deps := ""
		if i%2 == 1 {
			deps = "depends_on: [" + specID(i-1) + "]\n"
		}
		files[".chant/specs/"+id+".md"] = fmt.Sprintf("---\nstatus: completed\ntarget_files: [out/%s.txt]\ninformed_by: [notes.md]\n%scommits: [%07x]\n"+
			"completed_at: 2026-02-02T14:42:43Z\nverification_status: passed\n---\n# Make out/%s.txt\n\nSome prose about the change, as specs have.\n\n"+
			"## Acceptance Criteria\n\n- [x] out/%s.txt names it\n", id, deps, i, id, id)
		files["out/"+id+".txt"] = id + "\n"
	}
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	git := func(argv ...string) error {
		argv = append([]string{"-C", dir, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0"}, argv...)
		if out, err := exec.Command("git", argv...).CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	if err := git("init", "-q", "-b", "main"); err != nil {
		return "", err
	}
	if err := git("add", "-A"); err != nil {
		return "", err
	}
	if err := git("commit", "-qm", "generated"); err != nil {
		return "", err
	}
	if records {
		if err := writeRecords(dir); err != nil {
			return "", err
		}
		if err := git("commit", "-qam", "records"); err != nil {
			return "", err
		}
	}
	return dir, git("gc", "-q")
}

// writeRecords writes into each spec of the workspace at dir what it was
// built on and made, as HEAD holds them.
func writeRecords(dir string) error {
	w, err := spec.OpenWorkspace(dir)
	if err != nil {
		return err
	}
	set, err := w.Load()
	if err != nil {
		return err
	}
	repo, err := gitrepo.Open(dir)
	if err != nil {
		return err
	}
	head, err := repo.ReadHead()
	if err != nil {
		return err
	}
	tree, err := provenance.NewTree(w, repo, head.Commit)
	if err != nil {
		return err
	}
	for _, s := range set.Specs {
		built, err := provenance.Current(w, set, s, tree)
		if err != nil {
			return err
		}
		outputs, err := provenance.Outputs(s, tree, nil)
		if err != nil {
			return err
		}
		e := doc.NewEditor(s.Bytes())
		e.Set("built_on", provenance.KV(built))
		e.Set("outputs", provenance.BlobsKV(outputs))
		data, err := e.Bytes()
		if err != nil {
			return err
		}
		if err := os.WriteFile(w.SpecPath(s.ID), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
