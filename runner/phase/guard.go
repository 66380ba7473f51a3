package phase

import (
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/chant-run/chant/internal/gitrepo"
)

// SlotName names the worktree of slot i (0-based).
func SlotName(i int) string {
	if i == 0 {
		return "phase"
	}
	return fmt.Sprintf("phase-%d", i+1)
}

// slotPattern is compiled when first used, not at every start of chant.
var slotPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^phase(-[1-9][0-9]{0,3})?$`) })

// validSlot reports whether a progress file's slot names a worktree of
// chant's (the file is chant's, but a name is never trusted into a path).
func validSlot(s string) bool { return slotPattern().MatchString(s) }

// SharedGuard watches git's configuration for every phase of a parallel
// run: agents run side by side, so a change found after one of them may
// be another's. It restores the configuration as the run found it, and
// holds the change against every phase that was running when it was
// found, so that none of them passes.
type SharedGuard struct {
	mu      sync.Mutex
	g       *gitrepo.Guard
	running map[string]bool
	blamed  map[string][]string
}

// NewSharedGuard starts watching repo's git configuration for the phases
// of a parallel run or a worker.
func NewSharedGuard(repo *gitrepo.Repo) (*SharedGuard, error) {
	g, err := repo.Guard()
	if err != nil {
		return nil, err
	}
	return &SharedGuard{g: g, running: map[string]bool{}, blamed: map[string][]string{}}, nil
}

// phaseGuard is the SharedGuard as one phase uses it.
type phaseGuard struct {
	s  *SharedGuard
	id string
}

func (s *SharedGuard) enter(id string) *phaseGuard {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[id] = true
	return &phaseGuard{s, id}
}

// Restore puts the configuration back as the run found it and returns
// what changed while this phase ran.
func (g *phaseGuard) Restore() ([]string, error) {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, err := s.g.Restore()
	for id := range s.running {
		if id != g.id && len(changed) > 0 {
			s.blamed[id] = append(s.blamed[id], changed...)
		}
	}
	out := append(s.blamed[g.id], changed...)
	delete(s.blamed, g.id)
	sort.Strings(out)
	return compactStrings(out), err
}

// leave ends the phase's watch.
func (g *phaseGuard) leave() {
	g.s.mu.Lock()
	defer g.s.mu.Unlock()
	delete(g.s.running, g.id)
	delete(g.s.blamed, g.id)
}

func compactStrings(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
