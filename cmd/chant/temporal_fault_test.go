package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/temporalengine"
	"github.com/chant-run/chant/internal/testgit"
)

// tcpProxy forwards connections to a target until it is cut: then it
// drops every connection it carries and closes new ones at once, as a
// network that went away does, until it is restored.
type tcpProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		l.Close()
		p.Cut()
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go p.carry(in)
		}
	}()
	return p
}

func (p *tcpProxy) Addr() string { return p.l.Addr().String() }

// track adds a connection, unless the proxy is cut.
func (p *tcpProxy) track(c ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range c {
		p.conns[c] = true
	}
	return true
}

func (p *tcpProxy) carry(in net.Conn) {
	defer in.Close()
	out, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	defer out.Close()
	if !p.track(in, out) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// Cut drops the connections and refuses new ones.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Restore carries connections again.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// TestTemporalEngineThroughFaults: a run of eight phases over two workers,
// everyone reaching the cluster through a proxy the test controls, meets
// in turn: a cluster out of reach when the workers and the run start, a
// network cut of 4 s, one of 20 s, and the server killed (SIGKILL) and
// started again on its database 5 s later. The run waits through each,
// and every phase lands once. (Before, the workers and the run exited at
// once, a cut of a few seconds failed phases that their workers had
// finished, and a restart failed most of those in flight.)
func TestTemporalEngineThroughFaults(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	if os.Getenv(skipTemporalEnv) != "" {
		t.Skipf("%s is set: the tests with a Temporal server are skipped", skipTemporalEnv)
	}
	root := projectRoot(t)
	db := filepath.Join(t.TempDir(), "temporal.db")
	var serverLog lockedBuffer
	addr, server, err := launchDevServer(root, &serverLog, temporalengine.Connection{}, "--db", db)
	if err != nil {
		t.Fatalf("the dev server: %v\n%s", err, serverLog.String())
	}
	defer func() { syscall.Kill(-server.Process.Pid, syscall.SIGKILL) }()
	proxy := startProxy(t, addr)
	proxy.Cut() // not up yet, as seen from the workers and the run

	queue := fmt.Sprintf("chant-faults-%d", time.Now().UnixNano())
	const n = 8
	files := map[string]string{
		".chant/config.md": fmt.Sprintf("---\nproject: {name: faults}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n"+
			"engine: temporal\ntemporal:\n  address: %s\n  task_queue: %s\n---\n", proxy.Addr(), queue),
		"agent.sh": strings.Replace(temporalAgent, `case "$CHANT_SPEC_ID" in slow*) sleep 8 ;; *) sleep 1 ;; esac`, "sleep 4", 1),
	}
	for i := range n {
		id := fmt.Sprintf("f%d", i)
		files[".chant/specs/"+id+".md"] = temporalSpec(id, "")
	}
	repo := testgit.Repo(t, files)
	w1 := startWorker(t, proxy.Addr(), queue, "w1")
	w2 := startWorker(t, proxy.Addr(), queue, "w2")
	bg := exec.Command(chantBin, "-C", repo, "run", "--parallel", "2")
	runOut := &lockedBuffer{b: &bytes.Buffer{}}
	bg.Stdout, bg.Stderr = runOut, runOut
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- bg.Wait() }()
	defer bg.Process.Kill()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf(format+"\nrun:\n%s\nw1:\n%s\nw2:\n%s\nserver:\n%s", append(a, runOut.String(), w1.out.String(), w2.out.String(), serverLog.String())...)
	}
	waiting := "The Temporal server at " + proxy.Addr() + " is unreachable, waiting"
	waitFor(t, 30*time.Second, "the run and the workers to wait for the server", func() bool {
		return strings.Contains(runOut.String(), waiting) && strings.Contains(w1.out.String(), waiting) && strings.Contains(w2.out.String(), waiting)
	})
	select {
	case err := <-ended:
		fail("the run ended while the server was out of reach: %v", err)
	case <-time.After(2 * time.Second):
	}
	proxy.Restore()

	// running waits until a phase runs on a worker that did not run there
	// when it was called: each fault meets a phase of its own.
	seen := map[string]bool{}
	onWorkers := func() []string {
		out, _, _ := chant(t, "-C", repo, "status")
		var ids []string
		for _, m := range regexp.MustCompile(`(?m)^(f\d) .*running now on worker w\d`).FindAllStringSubmatch(out, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	running := func() {
		t.Helper()
		for _, id := range onWorkers() {
			seen[id] = true
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			for _, id := range onWorkers() {
				if !seen[id] {
					seen[id] = true
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		fail("no new phase ran on a worker")
	}
	for _, cut := range []time.Duration{4 * time.Second, 20 * time.Second} {
		running()
		time.Sleep(time.Second)
		proxy.Cut()
		time.Sleep(cut)
		proxy.Restore()
	}
	running()
	time.Sleep(time.Second)
	syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
	// Reaped by launchDevServerAt's own Wait.
	waitFor(t, 30*time.Second, "the killed server to exit", func() bool { return syscall.Kill(server.Process.Pid, 0) != nil })
	time.Sleep(5 * time.Second)
	if server, err = launchDevServerAt(root, addr, &serverLog, temporalengine.Connection{}, "--db", db); err != nil {
		fail("the dev server, again: %v", err)
	}

	select {
	case err := <-ended:
		if err != nil {
			fail("the run: %v", err)
		}
	case <-time.After(5 * time.Minute):
		fail("the run did not end")
	}
	if !strings.Contains(runOut.String(), fmt.Sprintf("All %d specs are completed.", n)) {
		fail("the run did not complete every spec")
	}
	log := testgit.Git(t, repo, "log", "--format=%s")
	for i := range n {
		id := fmt.Sprintf("f%d", i)
		if c := strings.Count(log, "chant("+id+"): "); c != 1 {
			t.Errorf("%d work commits of %s, want 1", c, id)
		}
	}
	if st := testgit.Git(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
	testgit.Git(t, repo, "fsck", "--strict", "--no-dangling")
	t.Logf("run:\n%s", runOut.String())
}
