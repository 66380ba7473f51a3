package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/specgen"
)

// BenchmarkStatus10kVsCat runs `chant status` over 10,000 generated specs
// and `cat` of the same files, side by side, and reports the ratio of the
// two (target: at most 3x).
//
//	go test -run XXX -bench Status10k ./cmd/chant
func BenchmarkStatus10kVsCat(b *testing.B) {
	root := b.TempDir()
	paths, err := specgen.Generate(root, 10000)
	if err != nil {
		b.Fatal(err)
	}
	cat := exec.Command("cat", paths...)
	devNull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	defer devNull.Close()
	run := func(cmd *exec.Cmd) time.Duration {
		c := exec.Command(cmd.Args[0], cmd.Args[1:]...)
		c.Stdout = devNull
		var stderr strings.Builder
		c.Stderr = &stderr
		start := time.Now()
		if err := c.Run(); err != nil {
			b.Fatalf("%v: %v\n%s", cmd.Args[:2], err, stderr.String())
		}
		return time.Since(start)
	}
	status := exec.Command(chantBin, "-C", root, "status")
	run(status) // warm the page cache
	run(cat)
	var tStatus, tCat time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tStatus += run(status)
		tCat += run(cat)
	}
	b.ReportMetric(float64(tStatus.Microseconds())/float64(b.N)/1000, "ms-status")
	b.ReportMetric(float64(tCat.Microseconds())/float64(b.N)/1000, "ms-cat")
	b.ReportMetric(float64(tStatus)/float64(tCat), "x-cat")
}
