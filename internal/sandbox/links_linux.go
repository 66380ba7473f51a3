package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscallSet is the numbers of the calls the filter refuses on one
// architecture: link, linkat, and io_uring_setup (io_uring links too);
// and prlimit64, refused only on PID 2 of the cage's namespace: a held
// cage's keeper (held.go), whose limits every later command would start
// with.
type syscallSet struct {
	arch    uint32
	nrs     []uint32
	prlimit uint32
}

// linkArches are the filter's architectures on this one: its own, then
// the one its processes may also call the kernel as (32-bit x86 on
// x86-64, 32-bit ARM on arm64); nil where chant has no filter.
func linkArches() []syscallSet {
	switch runtime.GOARCH {
	case "amd64":
		return []syscallSet{{unix.AUDIT_ARCH_X86_64, []uint32{86, 265, 425}, 302}, {unix.AUDIT_ARCH_I386, []uint32{9, 303, 425}, 340}}
	case "arm64":
		return []syscallSet{{unix.AUDIT_ARCH_AARCH64, []uint32{37, 425}, 261}, {unix.AUDIT_ARCH_ARM, []uint32{9, 330, 425}, 369}}
	}
	return nil
}

// hasLinkFilter reports whether chant has a filter for this architecture.
func hasLinkFilter() bool { return len(linkArches()) > 0 }

// x32 is the bit of x86-64's x32 ABI's call numbers: refused whole.
const x32 = 0x40000000

// linkFilter is the classic BPF program: for each architecture, its calls
// in the set fail with EPERM, and prlimit64 on PID 2; the others pass; x32
// calls and any other architecture fail.
func linkFilter() []unix.SockFilter {
	arches := linkArches()
	if len(arches) == 0 {
		return nil
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
		// offsets in struct seccomp_data (the first argument's low half,
		// little-endian: a pid_t)
		nrOff, archOff, arg0Off = 0, 4, 16
		keeperPID               = 2
	)
	var prog []unix.SockFilter
	var toDeny []int // jumps to patch: their true branch leads to the refusal
	for i, a := range arches {
		// If the architecture is not a, skip this block (patched below).
		prog = append(prog, unix.SockFilter{Code: ld, K: archOff})
		skip := len(prog)
		prog = append(prog, unix.SockFilter{Code: jeq, K: a.arch})
		prog = append(prog, unix.SockFilter{Code: ld, K: nrOff})
		if i == 0 && runtime.GOARCH == "amd64" {
			toDeny = append(toDeny, len(prog))
			prog = append(prog, unix.SockFilter{Code: jge, K: x32})
		}
		for _, nr := range a.nrs {
			toDeny = append(toDeny, len(prog))
			prog = append(prog, unix.SockFilter{Code: jeq, K: nr})
		}
		// prlimit64: on to its pid; anything else: past it, allowed.
		prog = append(prog, unix.SockFilter{Code: jeq, K: a.prlimit, Jf: 2})
		prog = append(prog, unix.SockFilter{Code: ld, K: arg0Off})
		toDeny = append(toDeny, len(prog))
		prog = append(prog, unix.SockFilter{Code: jeq, K: keeperPID})
		prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
		prog[skip].Jf = uint8(len(prog) - skip - 1)
	}
	deny := len(prog)
	prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)})
	for _, j := range toDeny {
		prog[j].Jt = uint8(deny - j - 1)
	}
	return prog
}

// installLinkFilter puts the filter on the calling thread (which must be
// locked to its goroutine and never serve another), and on every process
// it starts from now on.
func installLinkFilter() error {
	f := linkFilter()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	prog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}

// probeLinkFilter installs the filter on a thread of its own that ends
// with it, and checks that a link is refused there.
func probeLinkFilter() error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := installLinkFilter(); err != nil {
			done <- err
			return
		}
		if err := unix.Linkat(unix.AT_FDCWD, "/nonexistent/chant-link-probe", unix.AT_FDCWD, "/nonexistent/chant-link-probe-2", 0); err != unix.EPERM {
			done <- fmt.Errorf("seccomp: a link was not refused (%v)", err)
			return
		}
		done <- nil
	}()
	return <-done
}
