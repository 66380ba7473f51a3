package temporalengine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chant-run/chant/runner/phase"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// ErrConnection means the cluster could not be reached or refused us.
var ErrConnection = errors.New("temporal")

// Dial connects to the cluster.
func Dial(c Connection) (client.Client, error) {
	return dial(context.Background(), c, 15*time.Second)
}

// DialWaiting is Dial for a worker or a run that may start before the
// cluster is up, or while it restarts: while the cluster cannot be
// reached (Transient), it tries again, for up to patience (0: until ctx
// ends), and says once on log that it waits. A refusal (TLS, credentials)
// is returned at once.
func DialWaiting(ctx context.Context, c Connection, patience time.Duration, log io.Writer) (client.Client, error) {
	var since time.Time
	wait := 500 * time.Millisecond
	for {
		cl, err := dial(ctx, c, 5*time.Second)
		switch {
		case err == nil:
			if !since.IsZero() && log != nil {
				fmt.Fprintf(log, "The Temporal server at %s answers\n", c.Address)
			}
			return cl, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !errors.Is(err, errUnreached) || !Transient(err) || refused(c, err):
			return nil, err
		case since.IsZero():
			since = time.Now()
			if log != nil {
				fmt.Fprintf(log, "The Temporal server at %s is unreachable, waiting (%v)\n", c.Address, err)
			}
		case patience > 0 && time.Since(since) >= patience:
			return nil, fmt.Errorf("%w (waited %s)", err, patience)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// refused reports whether a failed dial was the server refusing us rather
// than the server being away: a certificate it does not trust or that we
// do not (TLS 1.3 refuses a missing client certificate after the
// handshake, so the client may see only the connection break), while the
// server's port answers.
func refused(c Connection, err error) bool {
	msg := err.Error()
	if strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") {
		return true
	}
	if !c.TLS() {
		return false
	}
	conn, derr := net.DialTimeout("tcp", c.Address, 2*time.Second)
	if derr != nil {
		return false
	}
	conn.Close()
	return true
}

// errUnreached marks a failure to reach the cluster, as opposed to an
// error in the connection's settings.
var errUnreached = errors.New("unreached")

func dial(ctx context.Context, c Connection, timeout time.Duration) (client.Client, error) {
	if c.Address == "" {
		return nil, fmt.Errorf("%w: no address (--address HOST:PORT)", ErrConnection)
	}
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, Identity: c.Identity, Logger: quietLogger{}}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNS
	}
	if c.TLS() {
		cfg := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
		if c.TLSCert != "" || c.TLSKey != "" {
			cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
			if err != nil {
				return nil, fmt.Errorf("%w: client certificate: %w", ErrConnection, err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		if c.TLSCA != "" {
			pem, err := os.ReadFile(c.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("%w: CA: %w", ErrConnection, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: CA %s: no PEM certificate in it", ErrConnection, c.TLSCA)
			}
			cfg.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = cfg
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s (namespace %s): %w", ErrConnection, c.Address, opts.Namespace, unreached{err})
	}
	return cl, nil
}

// unreached is an error of client.DialContext, marked errUnreached.
type unreached struct{ err error }

func (u unreached) Error() string   { return u.err.Error() }
func (u unreached) Unwrap() []error { return []error{u.err, errUnreached} }

// quietLogger drops the SDK's own logging: chant says what matters.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}

// Worker polls a task queue for pipelines' workflow tasks and phases.
type Worker struct {
	Client      client.Client
	Queue       string
	Concurrency int // phases at once
	Phases      *phase.Worker
}

// Run polls until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	queue := w.Queue
	if queue == "" {
		queue = DefaultQueue
	}
	n := max(w.Concurrency, 1)
	w.Phases.Slots = n
	tw := worker.New(w.Client, queue, worker.Options{
		MaxConcurrentActivityExecutionSize: n,
		Identity:                           w.Phases.Identity,
		// A worker stopped by a signal gives its phases back at once: they
		// are retried elsewhere rather than after the heartbeat timeout.
		WorkerStopTimeout: 5 * time.Second,
	})
	tw.RegisterWorkflowWithOptions(Pipeline, workflow.RegisterOptions{Name: WorkflowName})
	tw.RegisterActivityWithOptions(w.phase, activity.RegisterOptions{Name: ActivityName})
	if err := tw.Start(); err != nil {
		return fmt.Errorf("%w: start the worker: %w", ErrConnection, err)
	}
	<-ctx.Done()
	tw.Stop()
	return nil
}

// phase is the activity: one phase, heartbeating while it runs.
func (w *Worker) phase(ctx context.Context, req phase.RemotePhase) (*phase.RemoteResult, error) {
	info := activity.GetInfo(ctx)
	beat := info.HeartbeatTimeout / 3
	if beat <= 0 || beat > 10*time.Second {
		beat = 10 * time.Second
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	res, err := w.Phases.RunPhase(ctx, &req)
	switch {
	case errors.Is(err, phase.ErrBadPhase):
		return nil, badRequest(err)
	case err != nil:
		return nil, err // retried, perhaps on another worker
	}
	trimResult(res)
	return res, nil
}

// maxText bounds the texts a result carries (Temporal limits a payload to
// a few MB); the worker's log has all of them.
const maxText = 256 << 10

func trimResult(res *phase.RemoteResult) {
	res.Output = trimText(res.Output)
	if v := res.Verification; v != nil {
		for i := range v.Checks {
			v.Checks[i].Output = trimText(v.Checks[i].Output)
		}
	}
}

func trimText(s string) string {
	if len(s) <= maxText {
		return s
	}
	cut := len(s) - maxText
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "[… the start is in the worker's log]\n" + s[cut:]
}

// badRequest marks an error as one that retrying cannot mend.
func badRequest(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadRequest, err)
}
