package stopsignal

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// The first signal asks the command to stop; a second ends it, as does
// the grace period running out.
func TestHandle(t *testing.T) {
	for _, second := range []bool{true, false} {
		stopped, exited := make(chan os.Signal, 1), make(chan os.Signal, 1)
		grace := time.Hour
		if !second {
			grace = time.Millisecond
		}
		done := Handle(grace, func(s os.Signal) { stopped <- s }, func(s os.Signal) { exited <- s })
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if s := <-stopped; s != syscall.SIGHUP {
			t.Errorf("stopped by %v, want SIGHUP", s)
		}
		if second {
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		if s := <-exited; s != syscall.SIGHUP {
			t.Errorf("exit for %v, want the first signal, SIGHUP", s)
		}
		done()
	}
}

// Once done, a signal is no longer the handler's.
func TestDoneStopsHandling(t *testing.T) {
	called := make(chan bool, 2)
	done := Handle(time.Hour, func(os.Signal) { called <- true }, func(os.Signal) { called <- true })
	done()
	select {
	case <-called:
		t.Error("handled without a signal")
	default:
	}
}
