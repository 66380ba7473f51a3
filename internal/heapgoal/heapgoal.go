// Package heapgoal chooses the collector's settings for chant's own
// process (not a test's): it spares a short command the collections of a
// small heap, and bounds the memory of one that holds every spec.
//
// With Go's default (GOGC=100) the first collection comes at 4 MB, and a
// command that builds 10 MB of listing and index on the way to its answer
// collects four times, for nothing: it exits soon after. Start
// lets the heap grow to five times what is live (400) while that is
// small, and puts Go's default back for good once a collection finds more
// than Large live, so that a command holding a large listing peaks where
// Go's default would have it.
package heapgoal

import (
	"os"
	"runtime"
	"runtime/debug"
)

const (
	// smallPercent is GOGC while the live heap is small: a first
	// collection at 16 MB rather than 4.
	smallPercent = 400
	// Large is the live heap past which GOGC is Go's default again.
	Large = 16 << 20
)

// Start raises GOGC until a collection finds more than Large live; a GOGC
// set by the user is left as it is.
func Start() {
	own = true
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(smallPercent)
	watch()
}

// own: the process is chant's own, whose memory settings the commands
// may choose (Start was called).
var own bool

// Listing bounds the memory of the commands that hold every spec at once
// (status, dag, lint, show): a soft limit, under which Go's collector
// works harder, unless the user set GOMEMLIMIT. Measured on 2 cores
// (BenchmarkStatus100kMemory): status over 100,000 specs peaks at 271 MB
// with it, 310-344 MB with Go's defaults alone, in the same time; over
// 10,000 specs it never comes into play. (Turning the collector off, as
// chant once did, made status no faster and 100,000 specs take 573 MB.)
func Listing() {
	if own && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

// watch looks at the live heap after the next collection: a cleanup runs
// once its object is collected, so a new one is made for each.
func watch() {
	runtime.AddCleanup(new([16]byte), func(struct{}) { afterCollection() }, struct{}{})
}

func afterCollection() {
	live, cycle := heap()
	defer func() {
		select {
		case looked <- cycle:
		default:
		}
	}()
	if live > Large {
		debug.SetGCPercent(100)
		return
	}
	watch()
}

// looked is told the collection afterCollection looked at, when done
// (tests wait for it).
var looked = make(chan uint64, 16)

// heap is what the heap holds (read just after a collection: what it
// found live, and little more), and the number of the last collection.
// (runtime/metrics would tell what was live exactly; its initialisation
// was a hundredth of every start of chant.)
func heap() (live, cycle uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, uint64(m.NumGC)
}
