package phase

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/verdict"
	"github.com/chant-run/chant/spec"
)

// recording returns the changes that save what the agent did for the
// phase's spec as a replay recording (the format the replay agent reads):
// transcript.md, recording.yaml with the criteria it checked, and files/
// with every target it wrote. Files of an earlier recording of the spec
// that this one does not have are removed; nothing else in the directory
// is touched. They land with the spec's record.
func (p *phase) recording() ([]gitrepo.Change, error) {
	r := p.env
	if msg := spec.ReplayDirProblem(r.Workspace.Config.Replay.Dir); msg != "" {
		return nil, &spec.Error{Path: r.Workspace.Config.Path, Msg: msg}
	}
	dir := r.Paths.Abs(filepath.Join(agent.RecordingsDir(r.Workspace), p.spec.ID))
	want := map[string]gitrepo.Change{}
	for rel, f := range p.work {
		want[dir+"/files/"+rel] = gitrepo.Change{Mode: f.mode, Data: f.data}
	}
	var rec agent.Recording
	for _, c := range p.spec.Criteria() {
		if c.Checked {
			rec.Checked = append(rec.Checked, c.Text)
		}
	}
	unchecked := map[int]bool{}
	for _, c := range p.ticked() {
		unchecked[c] = true
	}
	for _, c := range p.spec.Criteria() {
		if !c.Checked && unchecked[c.Offset] {
			rec.Checked = append(rec.Checked, c.Text)
		}
	}
	meta, err := yaml.Marshal(rec)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("# What the agent did for %s, recorded by chant run --record.\n", p.spec.ID)
	want[dir+"/recording.yaml"] = gitrepo.Change{Mode: safefs.Regular, Data: []byte(header + string(meta))}
	want[dir+"/transcript.md"] = gitrepo.Change{Mode: safefs.Regular, Data: []byte(strings.TrimSpace(p.prog.Output) + "\n")}

	// An earlier recording's files that this one does not write go.
	root := filepath.Join(r.Repo.Root, filepath.FromSlash(dir+"/files"))
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 && path != root {
			return fmt.Errorf("%w: %s is a symbolic link", ErrUnsafePath, r.Paths.Abs(path))
		}
		if d.IsDir() {
			return nil
		}
		rel := r.Paths.Abs(path)
		if _, ok := want[rel]; !ok {
			want[rel] = gitrepo.Change{}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []gitrepo.Change
	for _, path := range paths {
		c := want[path]
		c.Path = path
		if c.Before, err = r.Repo.WorkFile(path); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ticked returns the offsets of the boxes the agent ticked in its copy of
// the spec.
func (p *phase) ticked() []int {
	if p.ticksRead {
		return p.ticks
	}
	p.ticksRead = true
	data, _, err := p.tree.Read(p.specRel)
	if err != nil {
		return nil
	}
	boxes, ok := verdict.TicksOnly(p.snapshot, data, p.spec.Criteria())
	if !ok {
		return nil
	}
	for off := range boxes {
		p.ticks = append(p.ticks, off)
	}
	sort.Ints(p.ticks)
	return p.ticks
}
