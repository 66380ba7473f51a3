package temporalhelper

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/temporalconf"
)

// TellGate tells the pipeline's workflow of a gate decision just
// committed, and returns the workflow told ("" when none runs). The
// decision stands whatever happens here: the run reads it from the spec
// file.
func TellGate(pl *temporalconf.Pipeline, spec, status, by string, stderr io.Writer) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r, err := call(ctx, OpTellGate, Hello{Pipeline: pl, Gate: &Gate{Spec: spec, Status: status, By: by}}, stderr)
	return r.Told, err
}

// Network is gitrepo.Network for chant: each fetch or push a run makes to
// a repository on another machine is made by chant-temporal, which links
// the transports (see OpTransfer).
type Network struct{}

// Fetch fetches refspecs from url into r.
func (Network) Fetch(r *gitrepo.Repo, url string, refspecs []string) error {
	return transfer(&Transfer{Dir: r.Root, URL: url, RefSpecs: refspecs})
}

// Push pushes refspecs of r to url.
func (Network) Push(r *gitrepo.Repo, url string, refspecs []string) error {
	return transfer(&Transfer{Dir: r.Root, URL: url, Push: true, RefSpecs: refspecs})
}

func transfer(t *Transfer) error {
	_, err := call(context.Background(), OpTransfer, Hello{Transfer: t}, nil)
	return err
}

// Pollers names the workers that polled the task queue for phases lately.
func Pollers(ctx context.Context, conn temporalconf.Connection, queue string, stderr io.Writer) ([]string, error) {
	r, err := call(ctx, OpPollers, Hello{Conn: conn, Queue: queue}, stderr)
	return r.Workers, err
}

// Worker runs a worker until ctx ends (then it stops as at a signal: its
// phases are handed back to be retried elsewhere) or it fails. What it
// says goes to stdout and stderr.
func Worker(ctx context.Context, conn temporalconf.Connection, queue string, opts WorkerOptions, stdout, stderr io.Writer) error {
	p, err := start(OpWorker, Hello{Conn: conn, Queue: queue, Worker: &opts}, stdout, stderr)
	if err != nil {
		return err
	}
	got := p.nextAnswer()
	select {
	case a := <-got:
		p.close(10 * time.Second)
		if a.err != nil {
			return a.err
		}
		return a.r.Err.Err()
	case <-ctx.Done():
		// The worker stops its phases within 5 s (its
		// WorkerStopTimeout), then replies.
		p.close(10 * time.Second)
		if a := <-got; a.err == nil && a.r.Err != nil {
			if err := a.r.Err.Err(); !errors.Is(err, context.Canceled) {
				return err
			}
		}
		return nil
	}
}
