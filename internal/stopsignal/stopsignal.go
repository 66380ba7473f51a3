// Package stopsignal ends a command at a signal in two steps: the first
// Ctrl-C, SIGTERM or SIGHUP (a closed terminal) asks it to stop, which it
// does cleanly; a second, or a grace period later, ends it at once.
package stopsignal

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Grace is how long a command may take to stop cleanly after a signal.
const Grace = 5 * time.Second

// Handle calls stop at the first signal, and exit at a second or grace
// after the first, until done is called. exit is to end the process.
func Handle(grace time.Duration, stop, exit func(os.Signal)) (done func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	quit := make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-quit:
			return
		}
		stop(sig)
		select {
		case <-sigs:
		case <-time.After(grace):
		case <-quit:
			return
		}
		exit(sig)
	}()
	return func() {
		close(quit)
		signal.Stop(sigs)
	}
}
