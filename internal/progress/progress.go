// Package progress is a run's standard output with what runs shown live:
// the runner's lines and the agent's streamed output go through it, and
// while agents, checks or setup commands run, a line for each says what
// and for how long.
package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/runner/phase"
)

// Output is a run's standard output, shared by the runner's lines, the
// agent's streamed output and the progress lines, so that none of them
// cuts into another. While agents, checks or setup commands run, a
// terminal shows one line for each (a parallel run has several), with
// what runs and for how long, redrawn every second under the output;
// piped output gets a line each every `every` (30s, or
// CHANT_PROGRESS_EVERY), so that minutes of `go test` never look hung.
type Output struct {
	mu      sync.Mutex
	out     io.Writer
	tty     bool
	every   time.Duration
	current map[string]phase.Activity // what runs, by spec
	shown   int                       // progress lines on screen (terminal)
	midLine bool                      // the last output did not end a line
	stop    chan struct{}
	once    sync.Once
}

// New is out with the progress of what runs shown live.
func New(out io.Writer) *Output {
	l := &Output{out: out, every: 30 * time.Second, stop: make(chan struct{}), current: map[string]phase.Activity{}}
	if f, ok := textsafe.FileOf(out); ok {
		l.tty = term.IsTerminal(int(f.Fd()))
	}
	if l.tty {
		l.every = time.Second
	}
	if v := os.Getenv("CHANT_PROGRESS_EVERY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			l.every = d
		}
	}
	go l.tick()
	return l
}

// Write writes output, below which the progress line is drawn again.
func (l *Output) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	n, err := l.out.Write(p)
	if len(p) > 0 {
		l.midLine = p[len(p)-1] != '\n'
	}
	return n, err
}

// Activity follows what the runner runs.
func (l *Output) Activity(a phase.Activity) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	if a.Done {
		delete(l.current, a.Spec)
	} else {
		l.current[a.Spec] = a
	}
	l.draw()
}

// Close stops the progress line.
func (l *Output) Close() {
	l.once.Do(func() { close(l.stop) })
	l.mu.Lock()
	l.clear()
	l.mu.Unlock()
}

func (l *Output) tick() {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.tty {
				l.clear()
				l.draw()
			} else {
				for _, a := range l.running() {
					if l.midLine {
						fmt.Fprintln(l.out)
						l.midLine = false
					}
					fmt.Fprintf(l.out, "...   %-20s %s still running (%s)\n", a.Spec, a.What, elapsed(a.Start))
				}
			}
			l.mu.Unlock()
		}
	}
}

// running lists what runs, the longest running first.
func (l *Output) running() []phase.Activity {
	out := make([]phase.Activity, 0, len(l.current))
	for _, a := range l.current {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Spec < out[j].Spec
	})
	return out
}

// draw shows the progress lines, one for each thing running (terminal
// only, and not in the middle of a line of output); the cursor stays at
// the end of the last.
func (l *Output) draw() {
	if !l.tty || l.midLine || l.shown > 0 {
		return
	}
	for i, a := range l.running() {
		if i > 0 {
			fmt.Fprint(l.out, "\n")
		}
		fmt.Fprintf(l.out, "%s  ⋯ %s: %s (%s)", textsafe.Own("\r\x1b[K"), a.Spec, textsafe.Line(a.What), elapsed(a.Start))
		l.shown++
	}
}

// clear erases the progress lines, leaving the cursor where the first
// began.
func (l *Output) clear() {
	if l.shown == 0 {
		return
	}
	fmt.Fprint(l.out, textsafe.Own("\r\x1b[K"))
	for range l.shown - 1 {
		fmt.Fprint(l.out, textsafe.Own("\x1b[1A\r\x1b[K"))
	}
	l.shown = 0
}

func elapsed(since time.Time) string {
	d := time.Since(since).Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
