package temporalengine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/chant-run/chant/internal/gitremote"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/runner/phase"
)

// HelperMain is chant-temporal, the program chant runs for what needs the
// cluster: it serves the operation args names (temporalhelper), reading
// requests from stdin and replying on descriptor 3, and returns its exit
// status. bundles resolves a replay agent's bundle, for a worker.
func HelperMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "%s: chant runs this program (for --engine temporal, chant worker, doctor); it is not for people\n", temporalhelper.Program)
		return 2
	}
	gitrepo.Network = gitremote.Transport{} // a worker's fetches and pushes
	replies := os.NewFile(3, "replies")
	if replies == nil {
		fmt.Fprintf(stderr, "%s: no descriptor 3 to reply on: chant runs this program\n", temporalhelper.Program)
		return 2
	}
	syscall.CloseOnExec(3) // nothing it starts (agents, checks) gets it
	// A terminal's signals reach chant too, which tells this program what
	// to do by closing its standard input. Caught and dropped rather than
	// ignored: an ignored signal would be ignored by the agents and checks
	// a worker starts too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for range sigs {
		}
	}()
	h := &helper{out: json.NewEncoder(replies), stdout: stdout}
	dec := json.NewDecoder(bufio.NewReader(stdin))
	var hello temporalhelper.Hello
	if err := dec.Decode(&hello); err != nil {
		fmt.Fprintf(stderr, "%s: read the request: %v\n", temporalhelper.Program, err)
		return 2
	}
	if hello.Protocol != temporalhelper.Protocol {
		h.reply(temporalhelper.Reply{Final: true, Err: temporalhelper.Wrap(fmt.Errorf(
			"chant and %s are of other versions (protocol %d against %d): install both from the same version of chant", temporalhelper.Program, hello.Protocol, temporalhelper.Protocol))})
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	switch op := args[0]; op {
	case temporalhelper.OpEngine:
		err = h.engine(ctx, hello, dec)
	case temporalhelper.OpWorker, temporalhelper.OpPollers, temporalhelper.OpTellGate, temporalhelper.OpTransfer:
		go func() { // standard input closed: chant is done, or gone
			io.Copy(io.Discard, bufio.NewReader(stdin))
			cancel()
		}()
		err = h.once(ctx, op, hello)
	default:
		err = fmt.Errorf("%s: no operation %q", temporalhelper.Program, op)
		h.reply(temporalhelper.Reply{Final: true, Err: temporalhelper.Wrap(err)})
	}
	if err != nil {
		return 1
	}
	return 0
}

// helper is one run of the helper program.
type helper struct {
	mu      sync.Mutex
	out     *json.Encoder
	stdout  io.Writer
	bundles func(string) (fs.FS, error)
}

func (h *helper) reply(r temporalhelper.Reply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.out.Encode(r) // chant gone: nobody to tell
}

// once serves an operation of one reply.
func (h *helper) once(ctx context.Context, op string, hello temporalhelper.Hello) error {
	r := temporalhelper.Reply{Final: true}
	var err error
	switch {
	case op == temporalhelper.OpWorker && hello.Worker != nil:
		err = h.worker(ctx, hello)
	case op == temporalhelper.OpPollers:
		r.Workers, err = pollers(ctx, hello)
	case op == temporalhelper.OpTellGate && hello.Pipeline != nil && hello.Gate != nil:
		r.Told, err = TellGate(hello.Pipeline, hello.Gate.Spec, hello.Gate.Status, hello.Gate.By)
	case op == temporalhelper.OpTransfer && hello.Transfer != nil:
		err = transfer(hello.Transfer)
	default:
		err = fmt.Errorf("%s %s: the request lacks what it needs", temporalhelper.Program, op)
	}
	r.Err = temporalhelper.Wrap(err)
	h.reply(r)
	return err
}

// transfer is chant's fetch or push over a network transport.
func transfer(t *temporalhelper.Transfer) error {
	r, err := gitrepo.Open(t.Dir)
	if err != nil {
		return err
	}
	if t.Push {
		return gitremote.Transport{}.Push(r, t.URL, t.RefSpecs)
	}
	return gitremote.Transport{}.Fetch(r, t.URL, t.RefSpecs)
}

func pollers(ctx context.Context, hello temporalhelper.Hello) ([]string, error) {
	c, err := Dial(hello.Conn)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return Pollers(ctx, c, hello.Queue)
}

// worker runs a worker until ctx ends.
func (h *helper) worker(ctx context.Context, hello temporalhelper.Hello) error {
	o := hello.Worker
	// A worker started before the cluster is up (or while it restarts)
	// waits for it.
	client, err := DialWaiting(ctx, hello.Conn, o.Patience, h.stdout)
	if err != nil {
		return err
	}
	defer client.Close()
	w := &Worker{Client: client, Queue: hello.Queue, Concurrency: o.Concurrency,
		Phases: &phase.Worker{Identity: o.Identity, Dir: o.Dir, Log: h.stdout}}
	fmt.Fprintf(h.stdout, "Worker %s: phases from task queue %s at %s (namespace %s), up to %d at once; its files in %s\n",
		o.Identity, hello.Queue, hello.Conn.Address, hello.Conn.Namespace, o.Concurrency, o.Dir)
	return w.Run(ctx)
}

// engine serves a run: the pipeline's workflow reached (the Hello's
// reply), then requests, each on a goroutine of its own but ReqDone, until
// standard input closes. Then it exits, its phases going on on their
// workers, as they would if chant had died with the engine in it: the
// next run takes their results. (Interrupted, chant cancels its phases
// before it closes.)
func (h *helper) engine(ctx context.Context, hello temporalhelper.Hello, dec *json.Decoder) error {
	if hello.Pipeline == nil {
		err := errors.New("no pipeline")
		h.reply(temporalhelper.Reply{Final: true, Err: temporalhelper.Wrap(err)})
		return err
	}
	reqs, eof := make(chan temporalhelper.Request), make(chan struct{})
	go func() {
		defer close(reqs)
		defer close(eof)
		for {
			var r temporalhelper.Request
			if dec.Decode(&r) != nil {
				return
			}
			reqs <- r
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // standard input closed: whatever waits stops
		<-eof
		cancel()
	}()
	e, err := Open(ctx, hello.Pipeline, h.stdout)
	if err != nil {
		h.reply(temporalhelper.Reply{Final: true, Err: temporalhelper.Wrap(err)})
		return err
	}
	defer e.Close()
	h.reply(temporalhelper.Reply{Final: true, WorkflowID: e.WorkflowID, Address: e.Address, Queue: e.Input.Queue, Repo: e.Input.Repo})
	var mu sync.Mutex
	phases := map[int]context.CancelFunc{}
	for r := range reqs {
		switch r.Op {
		case temporalhelper.ReqDone:
			e.Done(r.Key)
		case temporalhelper.ReqCancel:
			mu.Lock()
			if stop := phases[r.ID]; stop != nil {
				stop()
			}
			mu.Unlock()
		case temporalhelper.ReqPhase:
			// Its own context: cancelled by ReqCancel alone.
			pctx, stop := context.WithCancel(context.Background())
			mu.Lock()
			phases[r.ID] = stop
			mu.Unlock()
			go func() {
				defer func() {
					mu.Lock()
					delete(phases, r.ID)
					mu.Unlock()
					stop()
				}()
				h.reply(h.phase(pctx, e, r))
			}()
		default:
			go func() { h.reply(h.request(ctx, e, r)) }()
		}
	}
	return nil
}

// phase runs a phase of ReqPhase, its worker told as it is known.
func (h *helper) phase(ctx context.Context, e *Engine, r temporalhelper.Request) temporalhelper.Reply {
	if r.Phase == nil {
		return temporalhelper.Reply{ID: r.ID, Final: true, Err: temporalhelper.Wrap(errors.New("no phase"))}
	}
	r.Phase.Patience = r.Patience
	res, err := e.Phase(ctx, r.Phase, func(worker string) {
		h.reply(temporalhelper.Reply{ID: r.ID, Worker: worker})
	})
	return temporalhelper.Reply{ID: r.ID, Final: true, Result: res, Err: temporalhelper.Wrap(err)}
}

// request serves ReqAttach, ReqGate and ReqFinish.
func (h *helper) request(ctx context.Context, e *Engine, r temporalhelper.Request) temporalhelper.Reply {
	rep := temporalhelper.Reply{ID: r.ID, Final: true}
	var err error
	switch {
	case r.Op == temporalhelper.ReqAttach:
		rep.Joined, err = e.Attach(ctx)
	case r.Op == temporalhelper.ReqGate && r.Gate != nil:
		err = e.Gate(ctx, r.Gate.Spec, r.Gate.Status, r.Gate.By)
	case r.Op == temporalhelper.ReqFinish:
		err = e.Finish(ctx)
	default:
		err = fmt.Errorf("no request %q", r.Op)
	}
	rep.Err = temporalhelper.Wrap(err)
	return rep
}
