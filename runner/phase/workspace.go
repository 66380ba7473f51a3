package phase

import (
	"path"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/isolation"
	"github.com/chant-run/chant/spec"
)

// OpenTree opens a phase worktree of repo (under base; "" is the usual
// place) that leaves out the spec directories of the workspace at wsRel
// in the repository: the agent gets its own spec, which chant puts there,
// and the prompt inlines what else it is given. Every other spec would
// make each phase's checkout and scan grow with their number.
func OpenTree(base string, repo *gitrepo.Repo, wsRel, slot string) (*isolation.Tree, error) {
	t, err := isolation.OpenIn(base, repo, slot)
	if err != nil {
		return nil, err
	}
	chant := path.Join(wsRel, ".chant")
	t.Omitted = []string{path.Join(chant, "specs"), path.Join(chant, spec.ArchiveDir)}
	return t, nil
}
