package sandbox

import "sync"

// A cage's processes may not give a file a second name (a hard link): a
// file of the worktree linked from another of its directories could be
// changed through a name that the kernel's notes of the phase (inotify on
// the worktree's directories, see isolation.Tree.Listen) do not see it
// by. Tools that link fall back to a copy, as they do across file
// systems. What refuses them is a seccomp filter (linkFilter), installed
// on the thread that starts bubblewrap, as Landlock is.

// linksState is whether cages here refuse hard links: a filter for this
// architecture, a bwrap that is not setuid (the filter needs
// no_new_privs, which would take its privileges), and a kernel that takes
// the filter.
var linksState = sync.OnceValue(func() bool {
	if !hasLinkFilter() {
		return false
	}
	if setuid, ok := bwrapSetuid(); setuid || !ok {
		return false
	}
	return probeLinkFilter() == nil
})

// BlocksLinks reports whether the cage's processes are refused hard
// links, so that what the kernel notes of the worktree's directories is
// all they changed there.
func (c *Cage) BlocksLinks() bool { return c != nil && linksState() }
