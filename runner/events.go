package runner

import (
	"errors"

	"github.com/chant-run/chant/runner/phase"
)

// Event is one line of chant run --json: a phase that starts ("start"),
// one that ends ("end", with its outcome), and where the run left things
// ("summary").
type Event struct {
	Event      string `json:"event"`
	ID         string `json:"id,omitempty"`
	Title      string `json:"title,omitempty"`
	Outcome    string `json:"outcome,omitempty"` // completed, failed, stopped, skipped
	Commit     string `json:"commit,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// For the summary: the specs by where they stand, and those this run
	// failed, stopped or refused (none: left out).
	States  map[string]int `json:"states,omitempty"`
	Failed  []string       `json:"failed,omitempty"`
	Stopped []string       `json:"stopped,omitempty"`
	Refused []string       `json:"refused,omitempty"`
}

// tell gives an event to Options.Events, one at a time.
func (r *run) tell(e Event) {
	if r.opts.Events == nil {
		return
	}
	r.eventsMu.Lock()
	defer r.eventsMu.Unlock()
	r.opts.Events(e)
}

// endEvent is the event of a phase that ended.
func endEvent(ph *Phase) Event {
	e := Event{Event: "end", ID: ph.Spec.ID, Title: ph.Spec.Title, DurationMS: ph.Duration.Milliseconds(), Outcome: "completed", Commit: ph.Commit}
	switch {
	case notRun(ph.Err):
		e.Outcome = "skipped"
	case errors.Is(ph.Err, phase.ErrStopped):
		e.Outcome = "stopped"
	case ph.Err != nil:
		e.Outcome = "failed"
	}
	if ph.Err != nil {
		e.Reason, e.Commit = ph.Err.Error(), ""
	}
	return e
}

// Summary is where the run left things, as an event.
func (rep *Report) Summary() Event {
	e := Event{Event: "summary", States: map[string]int{}}
	if rep.Final != nil {
		for _, st := range rep.Final.States {
			e.States[string(st.Kind)]++
		}
	}
	for _, f := range rep.Failed {
		e.Failed = append(e.Failed, f.Spec.ID)
	}
	for _, s := range rep.Stopped {
		e.Stopped = append(e.Stopped, s.Spec.ID)
	}
	for _, r := range rep.Refused {
		e.Refused = append(e.Refused, r.Spec.ID)
	}
	return e
}
