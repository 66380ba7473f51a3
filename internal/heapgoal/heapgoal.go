// Package heapgoal spares a short command the collections of a small
// heap. With Go's default (GOGC=100) the first collection comes at 4 MB,
// and a command that builds 10 MB of listing and index on the way to its
// answer collects four times, for nothing: it exits soon after. Start
// lets the heap grow to five times what is live (400) while that is
// small, and puts Go's default back for good once a collection finds more
// than Large live, so that a command holding a large listing peaks where
// Go's default would have it.
package heapgoal

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

const (
	// smallPercent is GOGC while the live heap is small: a first
	// collection at 16 MB rather than 4.
	smallPercent = 400
	// Large is the live heap past which GOGC is Go's default again.
	Large = 16 << 20
)

// Start raises GOGC until a collection finds more than Large live. A GOGC
// set by the user is left as it is, and so is the process after a call
// of debug.SetGCPercent of its own, once Start has put the default back.
func Start() {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(smallPercent)
	watch()
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

// heap is what the last collection found live, and its number.
func heap() (live, cycle uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	for i, v := range []*uint64{&live, &cycle} {
		if s[i].Value.Kind() == metrics.KindUint64 {
			*v = s[i].Value.Uint64()
		}
	}
	return live, cycle
}
