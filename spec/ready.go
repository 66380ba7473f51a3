package spec

import (
	"fmt"
	"strings"
)

// Readiness says whether a spec can run now and, if not, why.
type Readiness struct {
	Ready     bool
	Done      bool     // completed: nothing left to do
	Gate      bool     // held only by a missing approval
	Reason    string   // why it is not ready ("" when ready or done)
	BlockedBy []string // dependencies that are not completed
}

// Readiness computes, once for the whole set, which specs can run and why
// the others cannot. Every command shows these same reasons.
//
// A spec is ready when it is pending (or failed, to retry), every dependency
// is completed or archived, a member's prior siblings are done, a driver's
// members are done, and any required approval is granted.
func (set *Set) Readiness() map[string]Readiness {
	cyclic := map[string]string{}
	for _, cyc := range set.cycles() {
		names := make([]string, len(cyc))
		for i, s := range cyc {
			names[i] = s.ID
		}
		for _, s := range cyc {
			cyclic[s.ID] = "in a cycle: " + strings.Join(names, " → ")
		}
	}
	out := make(map[string]Readiness, len(set.Specs))
	for _, s := range set.Specs {
		out[s.ID] = set.readiness(s, cyclic[s.ID])
	}
	return out
}

func (set *Set) readiness(s *Spec, cycle string) Readiness {
	if s.Done() {
		return Readiness{Done: true}
	}
	switch s.Status {
	case StatusPending, StatusFailed:
	case StatusInProgress:
		return Readiness{Reason: "in progress"}
	default:
		return Readiness{Reason: strings.ReplaceAll(s.Status, "_", " ")}
	}
	if cycle != "" {
		return Readiness{Reason: cycle}
	}
	var r Readiness
	var waits []string
	for _, dep := range set.edges(s) {
		d := set.byID[dep]
		switch {
		case d == nil:
			return Readiness{Reason: fmt.Sprintf("dependency %s does not exist", dep), BlockedBy: []string{dep}}
		case d.Status == StatusCancelled:
			return Readiness{Reason: fmt.Sprintf("dependency %s is cancelled", dep), BlockedBy: []string{dep}}
		case !d.Done():
			r.BlockedBy = append(r.BlockedBy, dep)
			waits = append(waits, fmt.Sprintf("%s (%s)", dep, d.Status))
		}
	}
	if len(waits) > 0 {
		r.Reason = "waits on " + strings.Join(waits, ", ")
		return r
	}
	if s.Gate() && !s.Approved() {
		r.Gate = true
		if s.Approval.Status == ApprovalRejected {
			r.Reason = "rejected"
			if s.Approval.By != "" {
				r.Reason += " by " + s.Approval.By
			}
		} else {
			r.Reason = "awaits approval"
		}
		return r
	}
	r.Ready = true
	return r
}
