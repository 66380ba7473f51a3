package sandbox

import (
	"fmt"
	"sync"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// landlockScopes are what a cage's Landlock domain restricts: no abstract
// Unix socket and no signal reaching a process outside it. The network
// namespace would give the first only with network: deny; with allow, the
// abstract sockets of the user's session (a desktop bus, an IDE's, an
// agent's) are otherwise one connect away.
const landlockScopes = ll.ScopeAbstractUnixSocket | ll.ScopeSignal

// landlockScopesABI is the first Landlock ABI with scopes (Linux 6.12).
const landlockScopesABI = 6

// landlockState is whether the cages here get Landlock, and why not.
var landlockState = sync.OnceValues(func() (bool, string) {
	abi, err := ll.LandlockGetABIVersion()
	switch {
	case err != nil:
		return false, fmt.Sprintf("no Landlock (the kernel has none: %v)", err)
	case abi < landlockScopesABI:
		return false, fmt.Sprintf("no Landlock scopes (the kernel's Landlock ABI is %d; scopes need %d, Linux 6.12)", abi, landlockScopesABI)
	}
	if setuid, _ := bwrapSetuid(); setuid {
		return false, "no Landlock (bwrap is setuid, and Landlock would take its privileges)"
	}
	return true, "Landlock scopes: no abstract Unix socket or signal out of the sandbox"
})

// restrictThread puts the calling OS thread, and every process it starts
// from now on, in a Landlock domain of its own with landlockScopes. The
// thread must be locked to its goroutine and never serve another: Go's
// runtime does not clone a locked thread, and ends it when its goroutine
// returns.
//
// A domain that handles no file system access leaves mounting allowed, so
// bubblewrap, started from this thread, can still build the cage; the
// cage's mount namespace is the file system's confinement.
func restrictThread() error {
	if ok, _ := landlockState(); !ok {
		return nil
	}
	fd, err := ll.LandlockCreateRuleset(&ll.RulesetAttr{Scoped: landlockScopes}, 0)
	if err != nil {
		return fmt.Errorf("create a ruleset: %w", err)
	}
	defer unix.Close(fd)
	// Of this thread only, as Landlock requires of an unprivileged
	// process; bubblewrap sets it for the cage anyway.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := ll.LandlockRestrictSelf(fd, 0); err != nil {
		return fmt.Errorf("restrict: %w", err)
	}
	return nil
}
