package heapgoal

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func percent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// A small heap keeps the raised GOGC through collections; one that holds
// more than Large puts Go's default back; a GOGC the user set is theirs.
func TestStartRaisesGOGCWhileTheHeapIsSmall(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	runtime.GC() // what earlier tests left
	Start()
	if p := percent(); p != smallPercent {
		t.Fatalf("GOGC after Start: %d", p)
	}
	runtime.GC()
	_, cycle := heap()
	for <-looked < cycle { // an earlier collection's
	}
	if p := percent(); p != smallPercent {
		t.Fatalf("GOGC after a collection of a small heap: %d", p)
	}
	kept := make([]*[1 << 20]byte, Large>>20+4)
	for i := range kept {
		kept[i] = new([1 << 20]byte)
	}
	// A collection the allocations made may have seen it already; the
	// look at each collection runs in the background.
	for percent() != 100 {
		runtime.GC()
		<-looked
	}
	runtime.KeepAlive(kept)

	debug.SetGCPercent(150)
	t.Setenv("GOGC", "150")
	Start()
	if p := percent(); p != 150 {
		t.Errorf("GOGC the user set, after Start: %d", p)
	}
}
