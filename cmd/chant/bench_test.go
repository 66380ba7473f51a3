package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/internal/specgen"
)

// The read commands' speed and memory, side by side with a reference:
//
//	go test -run XXX -bench Reads -benchtime 20x ./cmd/chant
//
// BenchmarkReads10k runs status, status --json, lint and dag in process
// over 10,000 generated specs, and reads the same files in parallel in Go
// without parsing them (the reference), alternately, and reports each
// command's time as a ratio: status to the reference (target: at most 3),
// the others to status (target: at most 1.5). status-cold is status with
// its listing cache removed first: every file read and parsed, as the
// first listing after a clone, or after chant itself changed. BenchmarkStatus100kMemory
// reports the peak resident memory of the chant binary's status over
// 100,000 specs (target: at most 300 MB).

// benchWorkspace generates n specs in a git repository (shared by the
// benchmarks of one run).
func benchWorkspace(b *testing.B, n int) string {
	b.Helper()
	root := filepath.Join(os.TempDir(), fmt.Sprintf("chant-bench-%d-%d", n, os.Getpid()))
	if _, err := os.Stat(root); err == nil {
		return root
	}
	if _, err := specgen.Generate(root, n); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", root).CombinedOutput(); err != nil {
		b.Fatalf("git init: %v\n%s", err, out)
	}
	b.Cleanup(func() {}) // kept for the other benchmarks of the run; removed by the OS's tmp cleaning
	return root
}

// readAll reads every spec file of root in parallel, as many workers as
// chant uses, without parsing: the reference.
func readAll(b *testing.B, root string) {
	dir := filepath.Join(root, ".chant", "specs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(entries) {
					return
				}
				if _, err := safefs.ReadRegular(filepath.Join(dir, entries[i].Name()), 0); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkReads10k(b *testing.B) {
	root := benchWorkspace(b, 10000)
	commands := map[string][]string{
		"status":      {"status"},
		"status-json": {"status", "--json"},
		"lint":        {"lint"},
		"dag":         {"dag"},
	}
	names := []string{"status", "status-json", "lint", "dag"}
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	chant := func(args []string) func() {
		return func() {
			if code := run(append([]string{"-C", root}, args...), nil, io.Discard, io.Discard); code > 1 {
				b.Fatalf("chant %v: exit %d", args, code)
			}
		}
	}
	// Once each before timing: the page cache, and chant's listing cache,
	// as every use but the first finds them.
	readAll(b, root)
	for _, n := range names {
		chant(commands[n])()
	}
	totals := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		totals["read"] += timed(func() { readAll(b, root) })
		for _, n := range names {
			totals[n] += timed(chant(commands[n]))
		}
		// status without its listing cache: every file read and parsed.
		if err := os.RemoveAll(filepath.Join(root, ".git", "chant", "cache")); err != nil {
			b.Fatal(err)
		}
		totals["status-cold"] += timed(chant(commands["status"]))
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
	b.ReportMetric(ms(totals["read"]), "ms-read")
	for _, n := range names {
		b.ReportMetric(ms(totals[n]), "ms-"+n)
	}
	b.ReportMetric(ms(totals["status-cold"]), "ms-status-cold")
	b.ReportMetric(float64(totals["status"])/float64(totals["read"]), "x-status/read")
	b.ReportMetric(float64(totals["status-cold"])/float64(totals["read"]), "x-status-cold/read")
	for _, n := range names[1:] {
		b.ReportMetric(float64(totals[n])/float64(totals["status"]), "x-"+n+"/status")
	}
}

func BenchmarkStatus100kMemory(b *testing.B) {
	requireChant(b)
	root := benchWorkspace(b, 100000)
	status := func() (time.Duration, int64) {
		cmd := exec.Command(chantBin, "-C", root, "status")
		cmd.Stdout = io.Discard
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KB
	}
	// The first listing: every file parsed, the cache written. (The
	// benchmark function runs more than once over the same workspace.)
	if err := os.RemoveAll(filepath.Join(root, ".git", "chant", "cache")); err != nil {
		b.Fatal(err)
	}
	cold, coldRSS := status()
	var total time.Duration
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, rss := status()
		total += d
		peak = max(peak, rss)
	}
	b.ReportMetric(float64(cold.Milliseconds()), "ms-first")
	b.ReportMetric(float64(coldRSS)/1024, "MB-first")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-status")
	b.ReportMetric(float64(peak)/1024, "MB-peak")
}
