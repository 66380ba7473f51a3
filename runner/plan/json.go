package plan

import (
	"bufio"
	"encoding/json"
	"github.com/chant-run/chant/spec/cost"
	"io"
	"time"

	"github.com/chant-run/chant/spec"
)

// StatusJSON is the shape of `chant status --json`; SpecJSON, of each
// spec in it (and of `chant show --json`, with more).
type StatusJSON struct {
	Repo    string         `json:"repo"`
	Summary map[string]int `json:"summary"`
	Sandbox bool           `json:"sandbox"` // false: sandbox: off
	Cost    *CostJSON      `json:"cost,omitempty"`
	Specs   []SpecJSON     `json:"specs"`
}

// SpecJSON is a spec and where it stands.
type SpecJSON struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Type        string         `json:"type"`
	Status      string         `json:"status"`
	State       Kind           `json:"state"`
	Archived    bool           `json:"archived,omitempty"`
	DependsOn   []string       `json:"depends_on"`
	TargetFiles []string       `json:"target_files"`
	Labels      []string       `json:"labels"`
	Commits     []string       `json:"commits"`
	Approval    ApprovalJSON   `json:"approval"`
	Criteria    CriteriaJSON   `json:"criteria"`
	Ready       bool           `json:"ready"`
	BlockedBy   []string       `json:"blocked_by"`
	Reason      string         `json:"reason,omitempty"`
	Failure     []string       `json:"failure,omitempty"`
	Valid       bool           `json:"valid"`
	Error       string         `json:"error,omitempty"`
	Problems    []spec.Problem `json:"problems,omitempty"`
	Cost        *CostJSON      `json:"cost,omitempty"`
	Stale       *StaleJSON     `json:"stale,omitempty"`
}

// StaleJSON says why a stale spec is: what changed of what it was built
// on, and the stale specs it depends on.
type StaleJSON struct {
	Changes []ChangeJSON `json:"changes"`
	Through []string     `json:"through"`
}

// ChangeJSON is one input that changed.
type ChangeJSON struct {
	Input  string `json:"input"`
	Dep    string `json:"dependency,omitempty"`
	Path   string `json:"path,omitempty"`
	Was    string `json:"was"`
	Now    string `json:"now"`
	Commit string `json:"commit,omitempty"`
	Says   string `json:"says"`
}

// CostJSON is a cost: usd only where a price was reported.
type CostJSON struct {
	USD          *float64 `json:"usd,omitempty"`
	InputTokens  int64    `json:"input_tokens"`
	OutputTokens int64    `json:"output_tokens"`
	Model        string   `json:"model,omitempty"`
}

// CostOf is a cost as JSON.
func CostOf(c cost.Cost) *CostJSON {
	j := &CostJSON{InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, Model: c.Model}
	if c.Priced {
		j.USD = &c.USD
	}
	return j
}

// ApprovalJSON is a spec's approval and where it stands.
type ApprovalJSON struct {
	Required bool   `json:"required"`
	Status   string `json:"status,omitempty"`
	By       string `json:"by,omitempty"`
	At       string `json:"at,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Void     string `json:"void,omitempty"`
	Expires  string `json:"expires,omitempty"`
}

// CriteriaJSON counts a spec's acceptance criteria.
type CriteriaJSON struct {
	Checked int `json:"checked"`
	Total   int `json:"total"`
}

// JSON is where the spec stands, as status --json gives it.
func (st *State) JSON() SpecJSON {
	s := st.Spec
	j := SpecJSON{
		ID: s.ID, Title: s.Title, Type: s.Type, Status: s.Status, State: st.Kind, Archived: s.Archived,
		DependsOn: nonNil(s.DependsOn), TargetFiles: nonNil(s.TargetFiles), Labels: nonNil(s.Labels),
		Commits: nonNil(s.Commits), BlockedBy: []string{},
		Criteria: CriteriaJSON{Checked: len(s.Criteria()) - len(s.Unchecked()), Total: len(s.Criteria())},
		Ready:    st.Kind == KindReady, Reason: st.Why(), Failure: st.Failure,
		Valid: st.Kind != KindInvalid, Problems: st.Problems,
	}
	for _, d := range append(append([]Dep{}, st.Blockers...), st.Waits...) {
		j.BlockedBy = append(j.BlockedBy, d.ID)
	}
	if errs := st.Errors(); len(errs) > 0 {
		j.Error = ProblemLine(errs[0])
	}
	if s.Cost != nil {
		j.Cost = CostOf(*s.Cost)
	}
	if st.Kind == KindStale {
		j.Stale = &StaleJSON{Changes: []ChangeJSON{}, Through: nonNil(st.Through)}
		for _, c := range st.Changes {
			j.Stale.Changes = append(j.Stale.Changes, ChangeJSON{c.Input, c.Dep, c.Path, c.Was, c.Now, c.Commit, c.String()})
		}
	}
	if s.Approval != nil {
		j.Approval = ApprovalJSON{Required: s.Approval.Required, Status: s.Approval.Status, By: s.Approval.By, At: s.Approval.At}
	}
	if g := st.Gate; g != nil {
		j.Approval.Reason, j.Approval.Void = g.Reason, g.Void
		if !g.Deadline.IsZero() {
			j.Approval.Expires = g.Deadline.UTC().Format(time.RFC3339)
		}
	}
	return j
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// WriteStatusJSON prints one JSON object (StatusJSON) with a spec on each
// line: as easy to read as to grep, and quick to write for 100,000 specs.
func WriteStatusJSON(w io.Writer, repo string, summary map[string]int, states []*State, sandboxed bool) error {
	out := bufio.NewWriter(w)
	var cost *CostJSON
	if total, _, all := TotalCost(states); all > 0 {
		cost = CostOf(total)
	}
	head, err := json.Marshal(struct {
		Repo    string         `json:"repo"`
		Summary map[string]int `json:"summary"`
		Sandbox bool           `json:"sandbox"`
		Cost    *CostJSON      `json:"cost,omitempty"`
	}{repo, summary, sandboxed, cost})
	if err != nil {
		return err
	}
	out.Write(head[:len(head)-1])
	out.WriteString(",\n\"specs\": [")
	for i, st := range states {
		line, err := json.Marshal(st.JSON())
		if err != nil {
			return err
		}
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString("\n  ")
		out.Write(line)
	}
	out.WriteString("\n]}\n")
	return out.Flush()
}
