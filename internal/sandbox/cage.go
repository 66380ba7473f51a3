package sandbox

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chant-run/chant/internal/procs"
)

// CageFor is the cage of the processes of a phase working in dir, or nil
// for a nil policy (sandbox: off). protected are the user's checkout and
// its git directory: read-only even inside a writable path, and visible.
// Its helper is this program itself: a program that runs phases is chant,
// or hands HelperCommand to HelperMain first thing, as chant's tests do.
func (p *Policy) CageFor(dir string, protected ...string) *Cage {
	if p == nil {
		return nil
	}
	c := &Cage{
		Policy:    *p,
		Dir:       dir,
		Tmp:       dir + ".tmp",
		State:     dir + ".sandbox",
		Protected: protected,
		hold:      &holdSlot{},
	}
	c.Visible = append(c.Visible, c.Protected...)
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOROOT"} {
		if v := os.Getenv(k); filepath.IsAbs(v) {
			c.Visible = append(c.Visible, filepath.Clean(v))
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			c.Visible = append(c.Visible, filepath.Clean(d))
		}
	}
	if exe, err := os.Executable(); err == nil {
		c.Visible = append(c.Visible, exe)
		c.Helper = []string{exe, HelperCommand}
	}
	return c
}

// Command returns the command line that runs argv in the cage, started in
// dir, and a function to call when it has ended; with no cage, argv as is.
// Run it with Within.
func (c *Cage) Command(dir string, argv []string, log io.Writer) ([]string, func(), error) {
	if c == nil {
		return argv, func() {}, nil
	}
	if err := c.Prepare(); err != nil {
		return nil, nil, err
	}
	cage := c
	if strings.Contains(argv[0], "/") {
		// A program named by its path (PATH's directories are visible).
		cc := *c
		cc.Visible = append(slices.Clone(c.Visible), filepath.Dir(argv[0]))
		cage = &cc
	}
	stop, err := cage.Relay(log)
	if err != nil {
		return nil, nil, err
	}
	args, err := cage.Args(dir, argv)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return args, stop, nil
}

// KillLeft kills what a command of the phase left running (procs.KillAll,
// its process group and marker); in a cage, nothing: the kernel ended it
// with the cage's PID namespace, or a held cage's keeper did (held.go),
// and the group is the held cage's, which the phase's next commands use.
func (c *Cage) KillLeft(pgid int, marker string) {
	if c == nil {
		procs.KillAll(pgid, marker)
	}
}

// ReadOnlyHint is said of a caged process that failed on a read-only file
// system.
const ReadOnlyHint = "it met a read-only file system, the sandbox's: a path it must write goes in sandbox.writable (never your repository)"

// MetReadOnly reports whether a caged process's output says it was
// refused a write by a read-only file system.
func (c *Cage) MetReadOnly(output string) bool {
	return c != nil && strings.Contains(strings.ToLower(output), "read-only file system")
}
