package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand/v2"
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

// The Temporal tests share one dev server (scripts/temporal-dev-server),
// started by the first that needs it and stopped by TestMain; each test
// has workers of its own on a task queue of its own.
var devServer struct {
	once sync.Once
	addr string
	err  error
	cmd  *exec.Cmd
	log  lockedBuffer // the server writes it as the tests read it
}

// skipTemporalEnv skips the tests that need the dev server (whose first
// build takes minutes), saying so; CI never sets it.
const skipTemporalEnv = "CHANT_SKIP_TEMPORAL"

// temporalServer returns the address of the dev server, starting it (and
// building it, the first time on a machine) if need be.
func temporalServer(t *testing.T) string {
	t.Helper()
	if os.Getenv(skipTemporalEnv) != "" {
		t.Skipf("%s is set: the tests with a Temporal server are skipped", skipTemporalEnv)
	}
	devServer.once.Do(func() { devServer.addr, devServer.err = startDevServer(projectRoot(t)) })
	if devServer.err != nil {
		t.Fatalf("the Temporal dev server: %v\n%s", devServer.err, devServer.log.String())
	}
	return devServer.addr
}

func startDevServer(root string) (string, error) {
	addr, cmd, err := launchDevServer(root, &devServer.log, temporalengine.Connection{})
	devServer.cmd = cmd
	return addr, err
}

// launchDevServer starts a dev server on free ports (with args, such as
// TLS) and returns its address once conn (with that address) reaches it.
func launchDevServer(root string, log *lockedBuffer, conn temporalengine.Connection, args ...string) (string, *exec.Cmd, error) {
	port, err := freePorts(9)
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd, err := launchDevServerAt(root, addr, log, conn, args...)
	return addr, cmd, err
}

// launchDevServerAt starts a dev server on addr (and the 8 ports after
// it) and returns once conn reaches it.
func launchDevServerAt(root, addr string, log *lockedBuffer, conn temporalengine.Connection, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command("bash", append(append([]string{filepath.Join(root, "scripts", "temporal-dev-server"), "--quiet"}, args...), addr)...)
	// One lock for both: the server writes them at once.
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	conn.Address = addr
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The first build of the server takes minutes on 2 cores.
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return cmd, fmt.Errorf("it exited: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			cl, err := temporalengine.Dial(conn)
			if err == nil {
				cl.Close()
				return cmd, nil
			}
		}
	}
	return cmd, fmt.Errorf("not up after 30 minutes")
}

// stopDevServer stops the dev server, if a test started it.
func stopDevServer() {
	if devServer.cmd != nil && devServer.cmd.Process != nil {
		syscall.Kill(-devServer.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// freePorts finds n consecutive free ports on 127.0.0.1 and returns the
// first.
func freePorts(n int) (int, error) {
	for range 200 {
		base := 20000 + rand.IntN(40000)
		ok := true
		var held []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free ports in a row", n)
}

// lockedBuffer is a buffer that processes write and tests read at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer // nil: one of its own
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		l.b = &bytes.Buffer{}
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b == nil {
		return ""
	}
	return l.b.String()
}

// worker is a chant worker process in a directory of its own (a machine
// of its own).
type worker struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
}

func startWorker(t *testing.T, addr, queue, name string, extra ...string) *worker {
	t.Helper()
	requireChant(t)
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &worker{name: name, out: &lockedBuffer{b: &bytes.Buffer{}}}
	w.cmd = exec.Command(chantBin, append([]string{"worker", "--engine", "temporal", "--address", addr, "--task-queue", queue,
		"--identity", name, "--cache-dir", filepath.Join(dir, "work")}, extra...)...)
	w.cmd.Dir = dir
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		w.cmd.Wait()
		if t.Failed() {
			t.Logf("worker %s:\n%s", name, w.out.String())
		}
	})
	return w
}

// ran counts the phases of spec the worker started.
func (w *worker) ran(spec string) int {
	return len(regexp.MustCompile(`(?m)^run   `+regexp.QuoteMeta(spec)+` `).FindAllString(w.out.String(), -1))
}

// waitFor polls cond every 100 ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("waited %s for %s", limit, what)
}

const temporalAgent = `t=$(sed -n 's/^target_files: \[\(.*\)\]$/\1/p' "$CHANT_SPEC_FILE")
mkdir -p "$(dirname "$t")"
case "$CHANT_SPEC_ID" in slow*) sleep 8 ;; *) sleep 1 ;; esac
echo "$CHANT_SPEC_ID by $CHANT_WORKER" > "$t"
sed -i 's/- \[ \]/- [x]/' "$CHANT_SPEC_FILE"
`

func temporalSpec(id string, extra string) string {
	return fmt.Sprintf("---\ntarget_files: [out/%s.txt]\n%s---\n# Phase %s\n\n## Acceptance Criteria\n\n- [ ] made\n", id, extra, id)
}

// TestTemporalEngine: a pipeline of four independent phases and a gate on
// the dev server with two workers in directories of their own. The phases
// spread over both workers, the run stops at the gate, approve tells the
// workflow, and the gate runs. Then a worker is killed (SIGKILL) in the
// middle of a phase, which is retried on the other; and the run itself is
// killed and started again, joining its workflow: every phase lands once.
func TestTemporalEngine(t *testing.T) {
	requireChant(t)
	t.Parallel() // minutes long (waits, kills, agent CLIs): beside the other long tests
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	addr := temporalServer(t)
	queue := fmt.Sprintf("chant-e2e-%d", time.Now().UnixNano())
	files := map[string]string{
		".chant/config.md": fmt.Sprintf("---\nproject: {name: remote}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n"+
			"engine: temporal\ntemporal:\n  address: %s\n  task_queue: %s\n  heartbeat: 3s\n---\n", addr, queue),
		"agent.sh":              temporalAgent,
		".chant/specs/gate.md":  temporalSpec("gate", "depends_on: [p1, p2, p3, p4]\napproval: {required: true, status: pending}\n"),
		".chant/specs/p1.md":    temporalSpec("p1", ""),
		".chant/specs/p2.md":    temporalSpec("p2", ""),
		".chant/specs/p3.md":    temporalSpec("p3", ""),
		".chant/specs/p4.md":    temporalSpec("p4", ""),
		".chant/specs/slow1.md": temporalSpec("slow1", "depends_on: [gate]\n"),
		".chant/specs/slow2.md": temporalSpec("slow2", "depends_on: [gate]\n"),
	}
	repo := testgit.Repo(t, files)
	workers := map[string]*worker{"w1": startWorker(t, addr, queue, "w1"), "w2": startWorker(t, addr, queue, "w2")}
	run := func(args ...string) (string, string, int) {
		return chant(t, append([]string{"-C", repo}, args...)...)
	}
	workCommits := func(id string) int {
		return strings.Count(testgit.Git(t, repo, "log", "--format=%s"), "chant("+id+"): ")
	}

	// doctor finds the cluster and both workers.
	waitFor(t, 30*time.Second, "doctor to see both workers", func() bool {
		out, _, code := run("doctor")
		return code == 0 && regexp.MustCompile(`(?m)^Engine: +temporal at .*task queue `+queue+`: workers (w1, w2|w2, w1)$`).MatchString(out)
	})

	// Four phases side by side, over both workers; the gate stops the run.
	out, errOut, code := run("run", "--parallel", "4")
	if code != 0 || !strings.Contains(out, "started the workflow") || !strings.Contains(out, "gate awaits approval") || !strings.Contains(out, `approve gate --by`) {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	by := map[string]bool{}
	for _, id := range []string{"p1", "p2", "p3", "p4"} {
		data, err := os.ReadFile(filepath.Join(repo, "out", id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		worker := strings.TrimPrefix(strings.TrimSpace(string(data)), id+" by ")
		by[worker] = true
		if n := workCommits(id); n != 1 {
			t.Errorf("%d work commits of %s, want 1", n, id)
		}
	}
	if !by["w1"] || !by["w2"] || len(by) != 2 {
		t.Errorf("the phases ran on %v; want both workers", by)
	}

	// Approving tells the waiting workflow; the next run joins it and
	// runs the gate.
	out, errOut, code = run("approve", "gate", "--by", "Alice")
	if code != 0 || !strings.Contains(out, "Told the pipeline's workflow") {
		t.Fatalf("approve: exit %d\n%s\n%s", code, out, errOut)
	}
	cl, err := temporalengine.Dial(temporalengine.Connection{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	head := "main"
	wfID := temporalengine.WorkflowID(repo, head)
	q, err := cl.QueryWorkflow(context.Background(), wfID, "", temporalengine.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st temporalengine.State
	if err := q.Get(&st); err != nil || len(st.Gates) != 1 || st.Gates[0].Status != "approved" || st.Gates[0].By != "Alice" {
		t.Fatalf("the workflow's gates: %+v (%v)", st.Gates, err)
	}
	out, errOut, code = run("run", "gate")
	if code != 0 || !strings.Contains(out, "joined the workflow") || !strings.Contains(out, "gate is completed") {
		t.Fatalf("run after approve: exit %d\n%s\n%s", code, out, errOut)
	}

	// A worker killed in the middle of a phase: after the heartbeat
	// timeout the phase runs again on the other worker, and lands once.
	// startRun starts chant run in the background.
	startRun := func(args ...string) (*exec.Cmd, *lockedBuffer) {
		bg := exec.Command(chantBin, append([]string{"-C", repo, "run"}, args...)...)
		out := &lockedBuffer{b: &bytes.Buffer{}}
		bg.Stdout, bg.Stderr = out, out
		if err := bg.Start(); err != nil {
			t.Fatal(err)
		}
		return bg, out
	}
	// runningOn waits until status shows id running on a worker, and names it.
	runningOn := func(id string) string {
		var worker string
		waitFor(t, 60*time.Second, id+" to run on a worker", func() bool {
			out, _, _ := run("status")
			if m := regexp.MustCompile(`(?m)^` + id + ` .*running now on worker (w\d)`).FindStringSubmatch(out); m != nil {
				worker = m[1]
				return true
			}
			return false
		})
		return worker
	}
	// addSpec commits one more slow spec.
	addSpec := func(id string) {
		os.WriteFile(filepath.Join(repo, ".chant", "specs", id+".md"), []byte(temporalSpec(id, "")), 0o644)
		testgit.Git(t, repo, "add", ".chant")
		testgit.Git(t, repo, "-c", "user.name=T", "-c", "user.email=t@x", "commit", "-qm", id)
	}
	bg, bgOut := startRun("--parallel", "2")
	victim := runningOn("slow1")
	time.Sleep(time.Second) // the agent is working
	if err := workers[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bg.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the run after a worker was killed: %v\n%s", err, bgOut.String())
		}
	case <-time.After(3 * time.Minute):
		bg.Process.Kill()
		t.Fatalf("the run did not end:\n%s", bgOut.String())
	}
	survivor := map[string]string{"w1": "w2", "w2": "w1"}[victim]
	if data, _ := os.ReadFile(filepath.Join(repo, "out", "slow1.txt")); strings.TrimSpace(string(data)) != "slow1 by "+survivor {
		t.Errorf("out/slow1.txt = %q; want it by %s (%s was killed)", data, survivor, victim)
	}
	for _, id := range []string{"slow1", "slow2"} {
		if n := workCommits(id); n != 1 {
			t.Errorf("%d work commits of %s, want 1", n, id)
		}
	}
	if !strings.Contains(bgOut.String(), "All 7 specs are completed.") {
		t.Errorf("the run said:\n%s", bgOut.String())
	}

	// The run killed and started again joins its workflow and never runs
	// a phase twice.
	addSpec("slow3")
	bg, _ = startRun()
	runningOn("slow3")
	bg.Process.Signal(syscall.SIGKILL)
	bg.Wait()
	out, errOut, code = run("run")
	if code != 0 || !strings.Contains(out, "joined the workflow") || !strings.Contains(out, "All 8 specs are completed.") {
		t.Fatalf("run again: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := workers[survivor].ran("slow3"); n != 1 {
		t.Errorf("slow3 ran %d times on %s, want once", n, survivor)
	}
	if n := workCommits("slow3"); n != 1 {
		t.Errorf("%d work commits of slow3, want 1", n)
	}

	// Ctrl-C on the run stops the agent on its worker, and the spec is
	// as before the run, as locally: the next run runs it.
	addSpec("slow4")
	bg, bgOut = startRun()
	runningOn("slow4")
	bg.Process.Signal(os.Interrupt)
	stopped := time.Now()
	bg.Wait()
	waitFor(t, 6*time.Second, "the worker to stop slow4's agent", func() bool {
		return strings.Contains(workers[survivor].out.String(), "stop  slow4: context canceled")
	})
	if took := time.Since(stopped); took > 7*time.Second {
		t.Errorf("the agent was stopped %s after Ctrl-C", took)
	}
	if out, _, _ := run("status"); !regexp.MustCompile(`(?m)^slow4 +\S+ +pending `).MatchString(out) {
		t.Errorf("status after Ctrl-C:\n%s\nrun:\n%s", out, bgOut.String())
	}
	if n := workCommits("slow4"); n != 0 {
		t.Errorf("%d work commits of slow4 after Ctrl-C", n)
	}
	if st := testgit.Git(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
	testgit.Git(t, repo, "fsck", "--strict", "--no-dangling")
}

// TestTemporalEngineUnderLoad: 40 phases that do next to nothing, two
// workers, --parallel 8: every one lands, once. (Half of them failed with
// "the result commit … is not in the repository" while the commit was
// there: the run's object storage never saw the packs the workers pushed
// after its first look.)
func TestTemporalEngineUnderLoad(t *testing.T) {
	requireChant(t)
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	addr := temporalServer(t)
	queue := fmt.Sprintf("chant-load-%d", time.Now().UnixNano())
	const n = 40
	files := map[string]string{
		".chant/config.md": fmt.Sprintf("---\nproject: {name: load}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n"+
			"engine: temporal\ntemporal:\n  address: %s\n  task_queue: %s\n---\n", addr, queue),
		"agent.sh": strings.Replace(temporalAgent, `case "$CHANT_SPEC_ID" in slow*) sleep 8 ;; *) sleep 1 ;; esac`+"\n", "", 1),
	}
	for i := range n {
		id := fmt.Sprintf("n%02d", i)
		files[".chant/specs/"+id+".md"] = temporalSpec(id, "")
	}
	repo := testgit.Repo(t, files)
	startWorker(t, addr, queue, "w1")
	startWorker(t, addr, queue, "w2")
	out, errOut, code := chant(t, "-C", repo, "run", "--parallel", "8")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("All %d specs are completed.", n)) {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	log := testgit.Git(t, repo, "log", "--format=%s")
	for i := range n {
		id := fmt.Sprintf("n%02d", i)
		if c := strings.Count(log, "chant("+id+"): "); c != 1 {
			t.Errorf("%d work commits of %s, want 1", c, id)
		}
	}
	if st := testgit.Git(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status:\n%s", st)
	}
}

// TestTemporalEngineOverMutualTLS: a dev server that requires client
// certificates; a worker and a run with the CA and a client certificate
// (flags for the worker, TEMPORAL_TLS_* for the run and approve) run a
// phase; without a client certificate, or without the CA, they are
// refused.
func TestTemporalEngineOverMutualTLS(t *testing.T) {
	requireChant(t)
	if testing.Short() {
		t.Skip("needs the Temporal dev server")
	}
	temporalServer(t) // built, or skipped
	dir := t.TempDir()
	ca, cert, key := writeTestPKI(t, dir)
	conn := temporalengine.Connection{TLSCA: ca, TLSCert: cert, TLSKey: key}
	var log lockedBuffer
	addr, cmd, err := launchDevServer(projectRoot(t), &log, conn, "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca)
	if cmd != nil {
		defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("the TLS dev server: %v\n%s", err, log.String())
	}
	queue := fmt.Sprintf("chant-tls-%d", time.Now().UnixNano())
	files := map[string]string{
		".chant/config.md": fmt.Sprintf("---\nproject: {name: tls}\ndefaults: {provider: command}\nagent:\n  command: sh agent.sh\n"+
			"engine: temporal\ntemporal:\n  address: %s\n  task_queue: %s\n---\n", addr, queue),
		"agent.sh":           temporalAgent,
		".chant/specs/p1.md": temporalSpec("p1", ""),
	}
	repo := testgit.Repo(t, files)

	// No client certificate: the worker is refused.
	out, errOut, code := chant(t, "worker", "--address", addr, "--task-queue", queue, "--tls-ca", ca, "--cache-dir", filepath.Join(dir, "w0"))
	// (TLS 1.3 refuses after the handshake: the client sees the alert, or
	// the connection closing.)
	if code == 0 || !regexp.MustCompile(`tls: certificate required|broken pipe|connection reset`).MatchString(errOut) {
		t.Fatalf("a worker without a client certificate: exit %d\n%s\n%s", code, out, errOut)
	}
	startWorker(t, addr, queue, "w1", "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key)
	// Without the CA the server's certificate is not trusted.
	t.Setenv("TEMPORAL_TLS_CERT", cert)
	t.Setenv("TEMPORAL_TLS_KEY", key)
	out, errOut, code = chant(t, "-C", repo, "run")
	if code == 0 || !strings.Contains(errOut, "x509: certificate signed by unknown authority") {
		t.Fatalf("a run that does not trust the server: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("TEMPORAL_TLS_CA", ca)
	out, errOut, code = chant(t, "-C", repo, "run")
	if code != 0 || !strings.Contains(out, "The one spec is completed.") {
		t.Fatalf("run over mTLS: exit %d\n%s\n%s", code, out, errOut)
	}
	if data, _ := os.ReadFile(filepath.Join(repo, "out", "p1.txt")); string(data) != "p1 by w1\n" {
		t.Errorf("out/p1.txt = %q", data)
	}
}

// writeTestPKI writes a CA and a certificate it signs for 127.0.0.1, good
// for a server and a client, and returns their files.
func writeTestPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "chant test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(crand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}
