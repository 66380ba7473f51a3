package spec

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chant-run/chant/spec/doc"
	"gopkg.in/yaml.v3"
)

// The records chant appends to a spec's body: each phase's Agent Output,
// each decision's line under Approval Discussion. They are written here
// and recognised here, exactly, so that what a reviewer approved can be
// told apart from what chant recorded afterwards.

// Sections of chant's records.
const (
	SectionAgentOutput        = "Agent Output"
	SectionApprovalDiscussion = "Approval Discussion"
)

// RecordSections are the sections chant appends to a spec: a record of
// decisions and runs, not instructions.
var RecordSections = []string{SectionApprovalDiscussion, SectionAgentOutput}

// AgentOutputBlock is the "## Agent Output" block recording a phase at at:
// text (already cleaned) in a code fence longer than any run of
// backquotes in it.
func AgentOutputBlock(at time.Time, text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fmt.Sprintf("## %s\n\n%s\n\n%s\n%s\n%s\n", SectionAgentOutput, at.UTC().Format(time.RFC3339), fence, text, fence)
}

// DecisionEntry is the line a decision adds under Approval Discussion.
func DecisionEntry(by string, at time.Time, status string) string {
	return fmt.Sprintf("**%s** - %s - %s", by, at.UTC().Format("2006-01-02 15:04"), strings.ToUpper(status))
}

// Compiled when first used, not at every start of chant.
var (
	agentOutputStart = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile("(?m)^## " + SectionAgentOutput + "\n\n[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n\n(`{3,})\n")
	})
	decisionLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\*\*(.+)\*\* - ([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}) - (APPROVED|REJECTED)\s*$`)
	})
	blankLines = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\n{3,}`) })
)

// DecisionStatus is the decision a line of Approval Discussion records
// (APPROVED, REJECTED), or "" when it is not a line DecisionEntry wrote.
func DecisionStatus(line string) string {
	if m := decisionLine().FindStringSubmatch(line); m != nil {
		return m[3]
	}
	return ""
}

// WithoutRecords is the spec's body without the records chant wrote,
// matched exactly: Agent Output blocks as AgentOutputBlock writes them,
// decision lines as DecisionEntry writes them, and the Approval
// Discussion heading. Anything else, under those headings or not, is
// kept: text appended to a discussion is part of the spec. Blank lines
// are collapsed, so that removing a record leaves no trace.
func (s *Spec) WithoutRecords() string {
	body := strings.ReplaceAll(string(s.Body()), "\r\n", "\n")
	var b strings.Builder
	for {
		loc := agentOutputStart().FindStringSubmatchIndex(body)
		if loc == nil {
			break
		}
		fence := body[loc[2]:loc[3]]
		rest := body[loc[1]:]
		end := strings.Index("\n"+rest, "\n"+fence+"\n")
		if end < 0 {
			if strings.HasSuffix(rest, "\n"+fence) || rest == fence {
				end = len(rest) - len(fence)
			} else {
				// Not closed: not chant's.
				b.WriteString(body[:loc[1]])
				body = rest
				continue
			}
		}
		b.WriteString(body[:loc[0]])
		body = rest[min(len(rest), end+len(fence)+1):]
	}
	b.WriteString(body)
	lines := strings.Split(b.String(), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l != "## "+SectionApprovalDiscussion && DecisionStatus(l) == "" {
			kept = append(kept, l)
		}
	}
	out := strings.Join(kept, "\n")
	return strings.TrimSpace(blankLines().ReplaceAllString(out, "\n\n"))
}

// Reviewed is what a reviewer approves of a spec: its frontmatter without
// the keys of drop (a nil list: the key; else those keys of its mapping)
// and its body without chant's records.
func (s *Spec) Reviewed(drop map[string][]string) []byte {
	var b strings.Builder
	if fm := s.node(); fm != nil {
		for key, sub := range drop {
			i := doc.FindKey(fm, key)
			switch {
			case i < 0:
			case sub == nil:
				fm.Content = append(fm.Content[:i], fm.Content[i+2:]...)
			case fm.Content[i+1].Kind == yaml.MappingNode:
				m := fm.Content[i+1]
				for _, k := range sub {
					if j := doc.FindKey(m, k); j >= 0 {
						m.Content = append(m.Content[:j], m.Content[j+2:]...)
					}
				}
				if len(m.Content) == 0 { // only chant's keys: as if absent
					fm.Content = append(fm.Content[:i], fm.Content[i+2:]...)
				}
			}
		}
		if out, err := yaml.Marshal(fm); err == nil {
			b.Write(out)
		}
	}
	b.WriteString("---\n")
	b.WriteString(s.WithoutRecords())
	return []byte(b.String())
}
