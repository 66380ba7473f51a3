package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/chant-run/chant/spec/cost"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/textsafe"
	"github.com/chant-run/chant/spec"
)

// ErrReviewChanged means an approval named the review it was given for
// (approve --review-hash), and what it would bind has changed since.
var ErrReviewChanged = fault.New(fault.Input, "the review changed")

// ReviewHash names a review: a hash of the binding an approval would
// record (every part of what it covers), short enough to type.
func ReviewHash(binding string) string {
	sum := sha256.Sum256([]byte(binding))
	return hex.EncodeToString(sum[:6])
}

// Review is what a person approving a gate has in front of them: the work
// under review (each dependency's last landed work, as a diff against the
// commit it was made on, with what its agent said and its checks as
// recorded), what the agents reported they cost, and what an approval
// binds now, part by part.
type Review struct {
	Spec    *spec.Spec
	Binding string // what an approval would record now
	Hash    string // ReviewHash(Binding)
	Deps    []DepReview
	Cost    cost.Cost // summed over the dependencies that reported one
	// Since is what changed in the work under review since the gate's
	// last approval (recorded with the commit it was given at): its
	// diff, the paths that differ; nil with no such approval.
	Since *Since
}

// Since is what changed in the work under review since an approval.
type Since struct {
	By      string   `json:"by"`
	At      string   `json:"at"`
	Commit  string   `json:"commit"`
	Changed []string `json:"changed"`
	Patch   string   `json:"patch,omitempty"`
}

// DepReview is one dependency's work under review.
type DepReview struct {
	Spec *spec.Spec
	// Commit is its last work commit, Base the commit it was made on;
	// zero when it has not landed.
	Commit, Base plumbing.Hash
	Stat, Patch  string
	// Record is its last "## Agent Output" block: its agent's last
	// words, usage and verification (the checks), as recorded.
	Record string
}

// NewReview reads the review of spec s (a gate or any spec): its
// dependencies, directly or not, in plan order.
func NewReview(w *spec.Workspace, set *spec.Set, s *spec.Spec, repo *gitrepo.Repo, files AgentFiles) (*Review, error) {
	c, err := Cover(w, set, s, "", repo, files)
	if err != nil {
		return nil, err
	}
	r := &Review{Spec: s, Binding: c.Binding()}
	r.Hash = ReviewHash(r.Binding)
	if r.Since, err = since(repo, s, c); err != nil {
		return nil, err
	}
	for _, dep := range dependencies(set, s) {
		d := DepReview{Spec: dep, Record: lastRecord(dep)}
		if n := len(dep.Commits); n > 0 {
			if d.Commit, err = repo.ResolveCommit(dep.Commits[n-1]); err != nil {
				return nil, fmt.Errorf("%s's work commit: %w", dep.ID, err)
			}
			info, err := repo.CommitInfo(d.Commit)
			if err != nil {
				return nil, err
			}
			if len(info.Parents) > 0 {
				d.Base = info.Parents[0]
				if d.Stat, d.Patch, err = repo.Patch(d.Base, d.Commit); err != nil {
					return nil, err
				}
			}
		}
		if dep.Cost != nil {
			r.Cost = r.Cost.Plus(*dep.Cost)
		}
		r.Deps = append(r.Deps, d)
	}
	return r, nil
}

// since is what changed in the work under review (c.Work's paths) from
// the commit s's last approval was given at to HEAD; nil when it has none.
func since(repo *gitrepo.Repo, s *spec.Spec, c *Covered) (*Since, error) {
	a := s.Approval
	if a == nil || a.Commit == "" || a.Status != spec.ApprovalApproved {
		return nil, nil
	}
	from, err := repo.ResolveCommit(a.Commit)
	if err != nil {
		return nil, nil // a commit no longer here: nothing to compare with
	}
	head, err := repo.ReadHead()
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range c.Work {
		paths = append(paths, p)
	}
	out := &Since{By: a.By, At: a.At, Commit: gitrepo.Short(a.Commit)}
	out.Patch, out.Changed, err = repo.PatchOf(from, head.Commit, paths)
	return out, err
}

// lastRecord is the text of a spec's last Agent Output block, without
// its time and fence.
func lastRecord(s *spec.Spec) string {
	body := string(s.Body())
	i := strings.LastIndex(body, "\n## "+spec.SectionAgentOutput+"\n")
	if i < 0 {
		return ""
	}
	rest := body[i+1:]
	rest = rest[strings.IndexByte(rest, '\n')+1:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	lines := strings.Split(strings.TrimSpace(rest), "\n")
	for k, l := range lines { // the block's fence, after its time
		if strings.HasPrefix(l, "```") {
			fence := strings.TrimRight(l, " ")
			end := len(lines)
			for m := len(lines) - 1; m > k; m-- {
				if strings.TrimRight(lines[m], " ") == fence {
					end = m
					break
				}
			}
			return strings.TrimSpace(strings.Join(lines[k+1:end], "\n"))
		}
	}
	return strings.TrimSpace(rest)
}

// verification marks where a record's verification begins (see
// verdict.Verification.Summary): shown whole, as the agent's words are not.
const verification = "Verification by chant:"

// shownRecord is a record as a review shows it: the agent's words cut,
// the verification (the criteria, each check and how it ended) whole.
func shownRecord(record, id string) string {
	words, checks, found := strings.Cut(record, verification)
	if !found {
		return cut(record, recordLines, id)
	}
	return strings.TrimSpace(cut(strings.TrimSpace(words), recordLines, id) + "\n\n" + verification + checks)
}

// Parts are what an approval binds, part by part: name, what it is, its
// hash now.
func (r *Review) Parts() [][3]string {
	f := fields(r.Binding)
	var out [][3]string
	for _, p := range parts {
		out = append(out, [3]string{p, partNames[p], f[p]})
	}
	return out
}

// recordLines is how much of an agent's record a review shows.
const recordLines = 20

func cut(text string, n int, id string) string {
	lines := strings.Split(text, "\n")
	if len(lines) <= n {
		return text
	}
	return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… (%d more lines: chant show %s)", len(lines)-n, id)
}

// WriteText writes the review for a terminal; paint colours a diff's line
// (identity for none).
func (r *Review) WriteText(w io.Writer, paint func(string) string) {
	s := r.Spec
	fmt.Fprintf(w, "Review of %s: %s\n\n", s.ID, textsafe.Line(s.Title))
	fmt.Fprintf(w, "Review hash: %s (chant approve %s --review-hash %s approves exactly this)\n", r.Hash, s.ID, r.Hash)
	if r.Cost.Reported() {
		fmt.Fprintf(w, "Agents' cost so far: %s\n", r.Cost)
	}
	fmt.Fprintln(w, "\nAn approval binds, as they are now:")
	for _, p := range r.Parts() {
		fmt.Fprintf(w, "  %-8s %-16s %s\n", p[0], p[2], p[1])
	}
	if len(r.Deps) == 0 {
		fmt.Fprintln(w, "\nNo work under review: it depends on no spec.")
	}
	if si := r.Since; si != nil {
		fmt.Fprintf(w, "\nSince the approval by %s at %s (at commit %s): ", si.By, si.At, si.Commit)
		if len(si.Changed) == 0 {
			fmt.Fprintln(w, "nothing of the work under review changed.")
		} else {
			fmt.Fprintf(w, "%s changed.\n\n", strings.Join(si.Changed, ", "))
			for _, line := range strings.SplitAfter(si.Patch, "\n") {
				fmt.Fprint(w, paint(line))
			}
		}
	}
	for _, d := range r.Deps {
		fmt.Fprintf(w, "\n=== %s: %s (%s)\n", d.Spec.ID, textsafe.Line(d.Spec.Title), d.Spec.Status)
		if d.Record != "" {
			fmt.Fprintf(w, "\n%s\n", indent(shownRecord(d.Record, d.Spec.ID)))
		}
		if d.Commit.IsZero() {
			fmt.Fprintln(w, "\nNothing of it has landed.")
			continue
		}
		fmt.Fprintf(w, "\nIts work, commit %s against %s:\n\n%s\n", gitrepo.Short(d.Commit.String()), gitrepo.Short(d.Base.String()), d.Stat)
		for _, line := range strings.SplitAfter(d.Patch, "\n") {
			fmt.Fprint(w, paint(line))
		}
	}
}

// WriteMarkdown writes the review as Markdown, to paste into a pull
// request.
func (r *Review) WriteMarkdown(w io.Writer) {
	s := r.Spec
	fmt.Fprintf(w, "## Review of %s: %s\n\nReview hash: `%s`", s.ID, textsafe.Line(s.Title), r.Hash)
	if r.Cost.Reported() {
		fmt.Fprintf(w, " · agents' cost so far: %s", r.Cost)
	}
	fmt.Fprintln(w, "\n\n| part | hash | what |\n|-|-|-|")
	for _, p := range r.Parts() {
		fmt.Fprintf(w, "| %s | `%s` | %s |\n", p[0], p[2], p[1])
	}
	if si := r.Since; si != nil {
		fmt.Fprintf(w, "\n### Since the approval by %s at %s (at commit `%s`)\n\n", si.By, si.At, si.Commit)
		if len(si.Changed) == 0 {
			fmt.Fprintln(w, "Nothing of the work under review changed.")
		} else {
			fmt.Fprintf(w, "%s changed:\n\n```diff\n%s```\n", strings.Join(si.Changed, ", "), si.Patch)
		}
	}
	for _, d := range r.Deps {
		fmt.Fprintf(w, "\n### %s: %s (%s)\n", d.Spec.ID, textsafe.Line(d.Spec.Title), d.Spec.Status)
		if d.Record != "" {
			fmt.Fprintf(w, "\n%s\n", quote(shownRecord(d.Record, d.Spec.ID)))
		}
		if d.Commit.IsZero() {
			fmt.Fprintln(w, "\nNothing of it has landed.")
			continue
		}
		fence := "```"
		for strings.Contains(d.Stat+d.Patch, fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "\nCommit `%s` against `%s`:\n\n%s\n%s%s\n\n%sdiff\n%s%s\n", gitrepo.Short(d.Commit.String()), gitrepo.Short(d.Base.String()),
			fence, d.Stat, fence, fence, d.Patch, fence)
	}
}

func indent(text string) string {
	return "    " + strings.ReplaceAll(text, "\n", "\n    ")
}

func quote(text string) string {
	return "> " + strings.ReplaceAll(text, "\n", "\n> ")
}
