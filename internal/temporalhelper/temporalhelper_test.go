package temporalhelper_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/temporalconf"
	"github.com/chant-run/chant/internal/temporalengine"
	"github.com/chant-run/chant/internal/temporalhelper"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/runner/phase"
)

// The tests run this test binary as the helper: by the name
// chant-temporal on PATH, as a fake that FAKE_HELPER says how to behave,
// or, with FAKE_HELPER=real, as the real one.
const fakeEnv = "FAKE_HELPER"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == temporalhelper.Program {
		if os.Getenv(fakeEnv) == "real" {
			os.Exit(temporalengine.HelperMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		}
		os.Exit(fake(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fake is a helper that answers without a cluster. Phases by their spec:
// "unreachable" ends as the engine out of reach, "refused" as a usage
// error, "hang" only when cancelled (and says so on stdout), "die" kills
// the helper; any other gets worker w1, then its result.
func fake(args []string) int {
	out := json.NewEncoder(os.NewFile(3, "replies"))
	dec := json.NewDecoder(bufio.NewReader(os.Stdin))
	var hello temporalhelper.Hello
	if dec.Decode(&hello) != nil {
		return 2
	}
	switch args[0] {
	case temporalhelper.OpPollers:
		out.Encode(temporalhelper.Reply{Final: true, Workers: []string{"w1", hello.Queue}})
		return 0
	case temporalhelper.OpWorker:
		fmt.Println("worker up")
		for dec.Decode(new(any)) == nil {
		}
		fmt.Println("worker stopped")
		out.Encode(temporalhelper.Reply{Final: true, Err: temporalhelper.Wrap(context.Canceled)})
		return 0
	}
	out.Encode(temporalhelper.Reply{Final: true, WorkflowID: "wf-" + hello.Pipeline.Branch, Address: hello.Pipeline.Conn.Address, Queue: hello.Pipeline.Queue, Repo: hello.Pipeline.Repo})
	hung := map[int]bool{}
	for {
		var r temporalhelper.Request
		if dec.Decode(&r) != nil {
			return 0
		}
		switch r.Op {
		case temporalhelper.ReqAttach:
			out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Joined: true})
		case temporalhelper.ReqCancel:
			if hung[r.ID] {
				fmt.Println("cancelled", r.ID)
				out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Err: temporalhelper.Wrap(context.Canceled)})
			}
		case temporalhelper.ReqPhase:
			switch r.Phase.Spec {
			case "die":
				fmt.Fprintln(os.Stderr, "boom")
				return 3
			case "hang":
				hung[r.ID] = true
			case "unreachable":
				out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Err: temporalhelper.Wrap(fmt.Errorf("%w: the Temporal server at x did not answer", phase.ErrEngineUnreachable))})
			case "stopped-on-worker":
				out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Err: temporalhelper.Wrap(fmt.Errorf("%w: cancelled on its worker", agent.ErrInterrupted))})
			case "refused":
				out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Err: temporalhelper.Wrap(fault.Classify(fault.Input, errors.New("bad setting")))})
			default:
				out.Encode(temporalhelper.Reply{ID: r.ID, Worker: "w1"})
				out.Encode(temporalhelper.Reply{ID: r.ID, Final: true, Result: &phase.RemoteResult{Worker: "w1", Output: "did " + r.Phase.Spec + fmt.Sprintf(" within %s", r.Patience)}})
			}
		}
	}
}

// onPath puts this test binary on PATH as the helper, behaving as mode.
func onPath(t *testing.T, mode string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, temporalhelper.Program)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv(fakeEnv, mode)
}

var pipeline = &temporalconf.Pipeline{Conn: temporalconf.Connection{Address: "127.0.0.1:1"}, Queue: "q", Repo: "/r", Branch: "refs/heads/main"}

func open(t *testing.T) *temporalhelper.Engine {
	t.Helper()
	e, err := temporalhelper.Open(context.Background(), pipeline, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestEngineConversation(t *testing.T) {
	onPath(t, "fake")
	e := open(t)
	if e.WorkflowID != "wf-refs/heads/main" || e.Address != "127.0.0.1:1" || e.Queue != "q" || e.Repo != "/r" {
		t.Fatalf("the workflow reached: %+v", e)
	}
	if joined, err := e.Attach(context.Background()); err != nil || !joined {
		t.Fatalf("Attach: %v %v", joined, err)
	}
	var workers []string
	res, err := e.Phase(context.Background(), &phase.RemotePhase{Spec: "a", Patience: time.Minute}, func(w string) { workers = append(workers, w) })
	if err != nil || res.Output != "did a within 1m0s" {
		t.Fatalf("Phase: %+v %v", res, err)
	}
	if len(workers) == 0 || workers[0] != "w1" {
		t.Errorf("update told %v", workers)
	}
	e.Done("k") // no reply to wait for

	_, err = e.Phase(context.Background(), &phase.RemotePhase{Spec: "unreachable"}, nil)
	if !errors.Is(err, phase.ErrEngineUnreachable) || !errors.Is(err, phase.ErrStopped) || err.Error() != phase.ErrEngineUnreachable.Error()+": the Temporal server at x did not answer" {
		t.Errorf("an engine out of reach crossed as %v", err)
	}
	_, err = e.Phase(context.Background(), &phase.RemotePhase{Spec: "stopped-on-worker"}, nil)
	if !errors.Is(err, agent.ErrInterrupted) || err.Error() != "interrupted: cancelled on its worker" {
		t.Errorf("a phase stopped on its worker crossed as %v", err)
	}
	_, err = e.Phase(context.Background(), &phase.RemotePhase{Spec: "refused"}, nil)
	if fault.Of(err) != fault.Input || err.Error() != "bad setting" {
		t.Errorf("a usage error crossed as %v (class %v)", err, fault.Of(err))
	}
}

func TestPhasesAtOnce(t *testing.T) {
	onPath(t, "fake")
	e := open(t)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			spec := fmt.Sprintf("s%d", i)
			res, err := e.Phase(context.Background(), &phase.RemotePhase{Spec: spec}, nil)
			if err == nil && !strings.HasPrefix(res.Output, "did "+spec+" ") {
				err = fmt.Errorf("%s got %q", spec, res.Output)
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestPhaseInterrupted(t *testing.T) {
	onPath(t, "fake")
	var out lockedBuilder
	e, err := temporalhelper.Open(context.Background(), pipeline, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = e.Phase(ctx, &phase.RemotePhase{Spec: "hang"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("an interrupted phase: %v", err)
	}
	e.Close()
	if !strings.Contains(out.String(), "cancelled 1") {
		t.Errorf("the helper was not told to cancel the phase; it said %q", out.String())
	}
}

func TestHelperEnds(t *testing.T) {
	onPath(t, "fake")
	e := open(t)
	_, err := e.Phase(context.Background(), &phase.RemotePhase{Spec: "die"}, nil)
	if !errors.Is(err, phase.ErrEngineUnreachable) || !strings.Contains(err.Error(), "chant-temporal, chant's program that talks to Temporal, ended (exit status 3): boom") {
		t.Errorf("a helper that died: %v", err)
	}
	if _, err := e.Attach(context.Background()); !errors.Is(err, phase.ErrEngineUnreachable) {
		t.Errorf("after it died: %v", err)
	}
}

func TestNoHelper(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := temporalhelper.Open(context.Background(), pipeline, nil, nil)
	if fault.Of(err) != fault.Input || !strings.Contains(err.Error(), "go install github.com/chant-run/chant/cmd/chant-temporal@latest") {
		t.Errorf("no helper: %v", err)
	}
}

func TestPollersAndWorker(t *testing.T) {
	onPath(t, "fake")
	workers, err := temporalhelper.Pollers(context.Background(), temporalconf.Connection{}, "q", nil)
	if err != nil || strings.Join(workers, ",") != "w1,q" {
		t.Errorf("Pollers: %v %v", workers, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuilder
	time.AfterFunc(200*time.Millisecond, cancel)
	if err := temporalhelper.Worker(ctx, temporalconf.Connection{}, "q", temporalhelper.WorkerOptions{}, &out, nil); err != nil {
		t.Errorf("a worker stopped: %v", err)
	}
	if out.String() != "worker up\nworker stopped\n" {
		t.Errorf("the worker said %q", out.String())
	}
}

// TestHelperRefuses: the real helper refuses a chant of another protocol,
// and an operation it has not, with an error chant can show.
func TestHelperRefuses(t *testing.T) {
	onPath(t, "real")
	for _, c := range []struct {
		op    string
		hello temporalhelper.Hello
		want  string
	}{
		{temporalhelper.OpPollers, temporalhelper.Hello{Protocol: temporalhelper.Protocol + 1}, "chant and chant-temporal are of other versions"},
		{"nothing", temporalhelper.Hello{Protocol: temporalhelper.Protocol}, `no operation "nothing"`},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(temporalhelper.Program, c.op)
		cmd.ExtraFiles = []*os.File{w}
		in, _ := json.Marshal(c.hello)
		cmd.Stdin = strings.NewReader(string(in) + "\n")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		var rep temporalhelper.Reply
		json.NewDecoder(r).Decode(&rep)
		cmd.Wait()
		r.Close()
		if rep.Err == nil || !strings.Contains(rep.Err.Msg, c.want) || cmd.ProcessState.ExitCode() != 1 {
			t.Errorf("%s: replied %+v, exit %d", c.op, rep.Err, cmd.ProcessState.ExitCode())
		}
	}
	out, err := exec.Command(temporalhelper.Program).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "chant runs this program") {
		t.Errorf("run by hand: %v: %s", err, out)
	}
}

type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHelperCatchesTerminalSignals: the helper catches (and drops) the
// signals a terminal sends, which chant gets too, rather than ignoring
// them: an ignored signal stays ignored across exec, in every agent and
// check a worker starts.
func TestHelperCatchesTerminalSignals(t *testing.T) {
	onPath(t, "real")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(temporalhelper.Program, temporalhelper.OpWorker)
	cmd.ExtraFiles = []*os.File{w}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() { stdin.Close(); cmd.Wait() }()
	// A worker of a cluster that is not there says it waits for it, its
	// signals long set by then.
	json.NewEncoder(stdin).Encode(temporalhelper.Hello{Protocol: temporalhelper.Protocol,
		Conn: temporalconf.Connection{Address: "127.0.0.1:1"}, Worker: &temporalhelper.WorkerOptions{Identity: "w", Concurrency: 1, Dir: t.TempDir()}})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "is unreachable, waiting") {
		t.Fatalf("the worker said %q (%v)", line, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	const terminal = 1<<(1-1) | 1<<(2-1) | 1<<(15-1) // SIGHUP, SIGINT, SIGTERM
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			var ign uint64
			fmt.Sscanf(strings.TrimSpace(v), "%x", &ign)
			if ign&terminal != 0 {
				t.Errorf("the helper ignores signals %x, and so would what it starts", ign&terminal)
			}
			return
		}
	}
	t.Fatalf("no SigIgn in %s", status)
}

// chant's fetches and pushes to a repository elsewhere are made by the
// helper, which links the network transports: here go-git's file
// transport, as a URL to another machine would take ssh's.
func TestNetworkThroughTheHelper(t *testing.T) {
	onPath(t, "real")
	src := testgit.Repo(t, map[string]string{"a": "1\n"})
	dst, err := gitrepo.Init(filepath.Join(t.TempDir(), "dst"))
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + src
	if err := (temporalhelper.Network{}).Fetch(dst, url, []string{"+refs/heads/main:refs/chant/base"}); err != nil {
		t.Fatal(err)
	}
	if got, want := testgit.Git(t, dst.Root, "rev-parse", "refs/chant/base"), testgit.Git(t, src, "rev-parse", "main"); got != want {
		t.Errorf("fetched %s, want %s", got, want)
	}
	bare := filepath.Join(t.TempDir(), "bare.git")
	testgit.Git(t, src, "init", "-q", "--bare", bare)
	if err := (temporalhelper.Network{}).Push(dst, "file://"+bare, []string{"+refs/chant/base:refs/heads/pushed"}); err != nil {
		t.Fatal(err)
	}
	if got, want := testgit.Git(t, bare, "rev-parse", "refs/heads/pushed"), testgit.Git(t, src, "rev-parse", "main"); got != want {
		t.Errorf("pushed %s, want %s", got, want)
	}
	if err := (temporalhelper.Network{}).Fetch(dst, "file:///nowhere", []string{"+refs/heads/main:refs/x"}); err == nil {
		t.Error("a fetch from nowhere: no error")
	}
}
