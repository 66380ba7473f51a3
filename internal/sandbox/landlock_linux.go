package sandbox

import (
	"github.com/landlock-lsm/go-landlock/landlock"
)

// confine restricts this process (chant's helper, the cage's command to
// be) with Landlock, a layer of its own under the mount namespace: writes
// only below dirs and to files, and no abstract Unix socket or signal reaching
// outside the domain (which a network namespace does not give with
// network: allow). TCP is left alone: tests bind and connect on loopback.
// Where the kernel has less of Landlock, it does what it can.
func confine(dirs, files []string) error {
	cfg := landlock.Config{HandledAccessFS: landlock.V7.HandledAccessFS, Scoped: landlock.V7.Scoped}
	rules := []landlock.Rule{landlock.RODirs("/")}
	if len(dirs) > 0 {
		rules = append(rules, landlock.RWDirs(dirs...).WithIoctlDev().IgnoreIfMissing())
	}
	if len(files) > 0 {
		rules = append(rules, landlock.RWFiles(files...).IgnoreIfMissing())
	}
	return cfg.BestEffort().Restrict(rules...)
}
