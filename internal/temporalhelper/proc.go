package temporalhelper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chant-run/chant/internal/companion"
)

// Path is the helper program, beside chant or on PATH.
func Path() (string, error) { return companion.Path(Program, "the temporal engine") }

// proc is a helper process and chant's ends of the conversation.
type proc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	inMu    sync.Mutex
	enc     *json.Encoder
	replies *json.Decoder
	tail    *tail
	closed  bool
	exited  chan struct{} // closed once the helper has exited and state is set
	state   *os.ProcessState
}

// start runs the helper for op and sends it hello. Its standard output
// goes to stdout, its standard error to stderr (both may be nil).
func start(op string, hello Hello, stdout, stderr io.Writer) (*proc, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	hello.Protocol = Protocol
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	p := &proc{cmd: exec.Command(path, op), tail: &tail{}, replies: json.NewDecoder(bufio.NewReader(r)), exited: make(chan struct{})}
	p.cmd.Stdout = stdout // nil: /dev/null
	p.cmd.Stderr = p.tail
	if stderr != nil {
		p.cmd.Stderr = io.MultiWriter(p.tail, stderr)
	}
	p.cmd.ExtraFiles = []*os.File{w}
	// Chant ending, however it ends, closes the helper's standard input,
	// which ends the helper. (Not Pdeathsig: it follows the thread that
	// started the helper, which a locked goroutine may end.)
	p.cmd.WaitDelay = 5 * time.Second
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		r.Close()
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		r.Close()
		return nil, fmt.Errorf("start %s: %w", Program, err)
	}
	p.enc = json.NewEncoder(p.in)
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		r.Close()
		close(p.exited)
	}()
	if err := p.send(hello); err != nil {
		p.close(0)
		return nil, p.ended(err)
	}
	return p, nil
}

// send writes one request.
func (p *proc) send(v any) error {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.closed {
		return errors.New("closed")
	}
	return p.enc.Encode(v)
}

// next reads the next reply.
func (p *proc) next() (Reply, error) {
	var r Reply
	if err := p.replies.Decode(&r); err != nil {
		return Reply{}, p.ended(err)
	}
	return r, nil
}

// answer is a reply, or why none came.
type answer struct {
	r   Reply
	err error
}

// nextAnswer reads the next reply on a goroutine of its own: whoever waits
// for it may stop waiting.
func (p *proc) nextAnswer() <-chan answer {
	got := make(chan answer, 1)
	go func() {
		r, err := p.next()
		got <- answer{r, err}
	}()
	return got
}

// ended is the error of a conversation cut short: the helper ended, with
// the last of what it said.
func (p *proc) ended(err error) error {
	how := "stopped answering (" + err.Error() + ")"
	if errors.Is(err, io.EOF) {
		how = "ended"
		select { // it exits as it closes its end
		case <-p.exited:
			how += " (" + p.state.String() + ")"
		case <-time.After(time.Second):
		}
	}
	if said := p.tail.last(); said != "" {
		how += ": " + said
	}
	return fmt.Errorf("%s, chant's program that talks to Temporal, %s", Program, how)
}

// close closes the helper's standard input, which ends it, and waits up
// to wait for it to exit; then it is killed.
func (p *proc) close(wait time.Duration) {
	p.inMu.Lock()
	if !p.closed {
		p.closed = true
		p.in.Close()
	}
	p.inMu.Unlock()
	select {
	case <-p.exited:
	case <-time.After(wait):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// call is an operation of one request and one reply (OpPollers,
// OpTellGate), within ctx.
func call(ctx context.Context, op string, hello Hello, stderr io.Writer) (Reply, error) {
	p, err := start(op, hello, nil, stderr)
	if err != nil {
		return Reply{}, err
	}
	defer p.close(5 * time.Second)
	select {
	case a := <-p.nextAnswer():
		if a.err != nil {
			return Reply{}, a.err
		}
		return a.r, a.r.Err.Err()
	case <-ctx.Done():
		return Reply{}, ctx.Err()
	}
}

// tail keeps the last line the helper wrote on its standard error.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(b), nil
}

func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
