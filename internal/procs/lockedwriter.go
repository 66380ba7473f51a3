package procs

import (
	"io"
	"sync"
)

// LockedWriter serializes the writes of what runs side by side (the lines
// of parallel phases; a check's output and its network relay).
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter serializes the writes to w.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

func (l *LockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
