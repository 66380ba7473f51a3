package gate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/doc"
)

const gateSpec = "---\ntype: task\n# reviewed weekly\napproval:\n  required: true\n  status: pending\nx-owner: ops\n---\n# Ship it\n\n## Acceptance Criteria\n\n- [ ] shipped\n"

func newRepo(t *testing.T) *spec.Workspace {
	t.Helper()
	w, err := spec.OpenWorkspace(testgit.Repo(t, map[string]string{
		".chant/config.md":         "---\nproject: {name: t}\n---\n",
		".chant/specs/ship.md":     gateSpec,
		".chant/specs/build.md":    "---\ntype: code\n---\n# Build\n",
		".chant/specs/ship-two.md": gateSpec,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestApproveRecordsAndCommits(t *testing.T) {
	w := newRepo(t)
	d, err := Approve(w, "ship", "Ada Lovelace", at, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(w.SpecPath("ship"))
	before, _ := spec.Parse("ship.md", []byte(gateSpec))
	repo, err := gitrepo.Open(w.Root)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Cover(w, nil, before, "", repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "---\ntype: task\n# reviewed weekly\napproval:\n  required: true\n  status: approved\n  by: Ada Lovelace\n  at: 2026-03-04T05:06:07Z\n" +
		"  hash: " + c.Binding() + "\n  commit: " + testgit.Git(t, w.Root, "rev-parse", "HEAD~1") + "\nx-owner: ops\n---\n" +
		"# Ship it\n\n## Acceptance Criteria\n\n- [ ] shipped\n\n## Approval Discussion\n\n**Ada Lovelace** - 2026-03-04 05:06 - APPROVED\n"
	if string(got) != want {
		t.Fatalf("spec after approve:\n%s\nwant:\n%s", got, want)
	}
	if msg := testgit.Git(t, w.Root, "log", "-1", "--format=%s%n%b"); msg != "chant(ship): approve\nApproved by Ada Lovelace." {
		t.Errorf("commit message %q", msg)
	}
	if files := testgit.Git(t, w.Root, "show", "--name-only", "--format=", d.Commit); files != ".chant/specs/ship.md" {
		t.Errorf("approval commit touches %q", files)
	}
	if _, err := Approve(w, "ship", "Ada Lovelace", at, nil, "", nil); !errors.Is(err, ErrDecided) {
		t.Errorf("second approval: %v", err)
	}
}

func TestRejectThenApprove(t *testing.T) {
	w := newRepo(t)
	if _, err := Reject(w, "ship", "Bob", "  ", at); !errors.Is(err, ErrNoReason) {
		t.Errorf("reject without reason: %v", err)
	}
	if _, err := Reject(w, "ship", "Bob", "tests are flaky", at); err != nil {
		t.Fatal(err)
	}
	if _, err := Reject(w, "ship", "Carol", "docs missing", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s, _ := spec.ReadFile(w.SpecPath("ship"))
	if s.Approval.Status != spec.ApprovalRejected || s.Approval.By != "Carol" {
		t.Errorf("approval after rejects: %+v", s.Approval)
	}
	if _, err := Approve(w, "ship", "Dan", at.Add(2*time.Minute), nil, "", nil); err != nil {
		t.Fatal(err)
	}
	s, _ = spec.ReadFile(w.SpecPath("ship"))
	body := string(s.Body())
	want := "## Approval Discussion\n\n**Bob** - 2026-03-04 05:06 - REJECTED\n\ntests are flaky\n\n" +
		"**Carol** - 2026-03-04 05:07 - REJECTED\n\ndocs missing\n\n**Dan** - 2026-03-04 05:08 - APPROVED\n"
	if !strings.HasSuffix(body, want) {
		t.Errorf("discussion:\n%s", body)
	}
	log := testgit.Git(t, w.Root, "log", "--format=%s")
	if log != "chant(ship): approve\nchant(ship): reject\nchant(ship): reject\ninit" {
		t.Errorf("log:\n%s", log)
	}
}

func TestDecisionErrors(t *testing.T) {
	w := newRepo(t)
	for _, tc := range []struct {
		id, by string
		want   error
	}{
		{"build", "x", ErrNotGate},
		{"nope", "x", spec.ErrNotFound},
		{"ship", "", ErrNoName},
		{"ship", "a\nb", ErrNoName},
		{"shi", "x", spec.ErrAmbiguous}, // ship, ship-two
	} {
		before, _ := os.ReadFile(w.SpecPath("ship"))
		if _, err := Approve(w, tc.id, tc.by, at, nil, "", nil); !errors.Is(err, tc.want) {
			t.Errorf("Approve(%q, %q) = %v, want %v", tc.id, tc.by, err, tc.want)
		}
		after, _ := os.ReadFile(w.SpecPath("ship"))
		if string(before) != string(after) {
			t.Errorf("a refused approval changed the file")
		}
	}
	if _, err := Approve(w, "build", "x", at, nil, "", nil); err == nil || !strings.Contains(err.Error(), ".chant/specs/build.md") {
		t.Errorf("not-a-gate error does not name the file: %v", err)
	}
}

// Decisions from many goroutines at once: each one is recorded and
// committed; none is lost.
func TestConcurrentDecisionsLoseNothing(t *testing.T) {
	w := newRepo(t)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Reject(w, "ship", fmt.Sprintf("R%d", i), fmt.Sprintf("reason %d", i), at); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	data, _ := os.ReadFile(w.SpecPath("ship"))
	if n := len(regexp.MustCompile(`(?m)^\*\*R\d\*\* - .* - REJECTED$`).FindAll(data, -1)); n != 6 {
		t.Errorf("%d of 6 rejections recorded:\n%s", n, data)
	}
	if n := testgit.Git(t, w.Root, "rev-list", "--count", "HEAD"); n != "7" {
		t.Errorf("%s commits, want 7", n)
	}
	testgit.Git(t, w.Root, "fsck", "--strict")
}

func TestWhoMayDecide(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":      "---\nproject: {name: t}\napproval:\n  approvers: [Ada Lovelace, grace@example.com]\n---\n",
		".chant/specs/work.md":  "---\nstatus: completed\ncommits: [PLACEHOLDER]\n---\n# Work\n",
		".chant/specs/gate.md":  "---\ndepends_on: [work]\napproval: {required: true, status: pending}\n---\n# Gate\n",
		".chant/specs/other.md": "---\napproval: {required: true, status: pending}\n---\n# Other\n",
	})
	// The work under review was written by Ada.
	w, sha := commitWork(t, root, "Ada Lovelace <ada@example.com>")

	if _, err := Approve(w, "gate", "Mallory", at, nil, "", nil); !errors.Is(err, ErrNotApprover) || !strings.Contains(err.Error(), "not in approval.approvers (Ada Lovelace, grace@example.com)") {
		t.Errorf("unlisted approver: %v", err)
	}
	if _, err := Approve(w, "gate", "ada lovelace", at, nil, "", nil); !errors.Is(err, ErrSelfApproval) || !strings.Contains(err.Error(), "wrote "+sha+" of work") {
		t.Errorf("self-approval: %v", err)
	}
	t.Setenv("CHANT_SPEC_ID", "work")
	if _, err := Approve(w, "gate", "grace@example.com", at, nil, "", nil); !errors.Is(err, ErrFromAgent) {
		t.Errorf("approval from an agent run: %v", err)
	}
	t.Setenv("CHANT_SPEC_ID", "")
	// A name git has never seen decides like any other.
	if _, err := Approve(w, "gate", "grace@example.com", at, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	// Ada may approve a gate over work she did not write.
	if _, err := Approve(w, "other", "Ada Lovelace", at, nil, "", nil); err != nil {
		t.Errorf("Ada approving other: %v", err)
	}
}

// commitWork commits work.txt as the spec work's work, authored by author
// and committed by Ada, records the commit in the spec (its PLACEHOLDER),
// and returns the workspace and the commit's short hash.
func commitWork(t *testing.T, root, author string) (*spec.Workspace, string) {
	t.Helper()
	os.WriteFile(filepath.Join(root, "work.txt"), []byte("work"), 0o644)
	ada := []string{"-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com"}
	testgit.Git(t, root, "add", "work.txt")
	testgit.Git(t, root, append(ada, "commit", "-qm", "chant(work): Work", "--author", author)...)
	sha := testgit.Git(t, root, "rev-parse", "--short", "HEAD")
	specPath := filepath.Join(root, ".chant/specs/work.md")
	data, _ := os.ReadFile(specPath)
	os.WriteFile(specPath, []byte(strings.Replace(string(data), "PLACEHOLDER", sha, 1)), 0o644)
	testgit.Git(t, root, append(ada, "commit", "-qam", "record")...)
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	return w, sha
}

// A solo user approves their agent's work: chant's work commits are
// authored by the agent and committed by the user, and only authors count.
func TestASoloUserApprovesTheirAgentsWork(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":     "---\nproject: {name: t}\n---\n",
		".chant/specs/work.md": "---\nstatus: completed\ncommits: [PLACEHOLDER]\n---\n# Work\n",
		".chant/specs/gate.md": "---\ndepends_on: [work]\napproval: {required: true, status: pending}\n---\n# Gate\n",
	})
	w, _ := commitWork(t, root, "Claude Code (chant) <claude-code@agents.chant.invalid>")
	// The agent's name is not a person's: it cannot approve its own work.
	if _, err := Approve(w, "gate", "Claude Code (chant)", at, nil, "", nil); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("the agent approving its own work: %v", err)
	}
	if _, err := Approve(w, "gate", "Ada Lovelace", at, nil, "", nil); err != nil {
		t.Errorf("Ada approving her agent's work: %v", err)
	}
}

// An approval covers what the gate's agent is given and the work under
// review, and nothing else.
func TestApprovalCoversWhatWasReviewed(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":           "---\nproject: {name: t}\ndefaults: {provider: command}\nagent: {command: my-agent}\n---\n",
		".chant/prompts/standard.md": "Do {{spec.title}}.\n",
		".chant/specs/work.md":       "---\ntarget_files: [out.txt]\nstatus: completed\n---\n# Work\n",
		".chant/specs/g1.md":         "---\ndepends_on: [work]\ncontext: [docs/*.md]\napproval: {required: true, status: pending}\n---\n# G1\n\nShip it.\n",
		".chant/specs/g2.md":         "---\napproval: {required: true, status: pending}\n---\n# G2\n",
		"docs/a.md":                  "a\n",
		"out.txt":                    "the work\n",
		"README":                     "r\n",
	})
	open := func() (*spec.Workspace, *spec.Set) {
		w, err := spec.OpenWorkspace(root)
		if err != nil {
			t.Fatal(err)
		}
		set, err := w.Load()
		if err != nil {
			t.Fatal(err)
		}
		return w, set
	}
	void := func() string {
		t.Helper()
		w, set := open()
		repo, _ := gitrepo.Open(root)
		return Void(w, set, set.Get("g1"), repo, nil)
	}
	git := func(args ...string) {
		testgit.Git(t, root, append([]string{"-c", "user.name=T", "-c", "user.email=t@x"}, args...)...)
	}
	approve := func() {
		t.Helper()
		w, _ := open()
		if _, err := Approve(w, "g1", "Reviewer", at, nil, "", nil); err != nil {
			t.Fatal(err)
		}
		if v := void(); v != "" {
			t.Fatalf("fresh approval is void: %s", v)
		}
	}
	write := func(p, content string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	approve()

	// What does not void it: another gate's decision, unrelated commits.
	w, _ := open()
	if _, err := Approve(w, "g2", "Reviewer", at, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	write("README", "changed\n")
	git("commit", "-qam", "unrelated")
	if v := void(); v != "" {
		t.Fatalf("voided by unrelated changes: %s", v)
	}

	for _, tc := range []struct {
		name, want string
		change     func()
	}{
		{"text appended after the discussion", "the gate spec", func() {
			data, _ := os.ReadFile(filepath.Join(root, ".chant/specs/g1.md"))
			write(".chant/specs/g1.md", string(data)+"\n## More\n\nAlso drop the database.\n")
		}},
		{"the prompt template, uncommitted", "its prompt template", func() { write(".chant/prompts/standard.md", "Do {{spec.title}}, and more.\n") }},
		{"agent.command", "the agent configuration", func() {
			write(".chant/config.md", "---\nproject: {name: t}\ndefaults: {provider: command}\nagent: {command: other-agent}\n---\n")
		}},
		{"agent.model", "the agent configuration", func() {
			write(".chant/config.md", "---\nproject: {name: t}\ndefaults: {provider: command}\nagent: {command: other-agent, model: bigger}\n---\n")
		}},
		{"a context file", "its context or informed_by files", func() { write("docs/a.md", "changed\n") }},
		{"a new context file", "its context or informed_by files", func() { write("docs/b.md", "new\n") }},
		{"the work under review", "the work under review (its dependencies' target files)", func() {
			write("out.txt", "other work\n")
			git("commit", "-qam", "change the work")
		}},
	} {
		tc.change()
		if v := void(); !strings.Contains(v, "approval void: "+tc.want+" changed") {
			t.Errorf("%s: void = %q", tc.name, v)
		}
		approve() // approving again binds to what is there now
	}

	// A hand-written approval, or one an older chant or Chant wrote, does
	// not open the gate.
	for _, hash := range []string{"", "0123456789abcdef"} {
		data, _ := os.ReadFile(filepath.Join(root, ".chant/specs/g1.md"))
		e := doc.NewEditor(data)
		e.SetIn("approval", "hash", hash)
		out, err := e.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		write(".chant/specs/g1.md", string(out))
		if v := void(); !strings.Contains(v, "approve again with chant approve") {
			t.Errorf("approval with hash %q: %q", hash, v)
		}
	}
}

// A gate is approved once the work under review has landed: approved
// before, the approval would be void the moment it did.
func TestApproveWaitsForTheWorkUnderReview(t *testing.T) {
	root := testgit.Repo(t, map[string]string{
		".chant/config.md":     "---\nproject: {name: t}\n---\n",
		".chant/specs/base.md": "---\nstatus: completed\n---\n# Base\n",
		".chant/specs/work.md": "---\ndepends_on: [base]\n---\n# Work\n",
		".chant/specs/gate.md": "---\ndepends_on: [work]\napproval: {required: true, status: pending}\n---\n# Gate\n",
	})
	w, err := spec.OpenWorkspace(root)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(w.SpecPath("gate"))
	head := testgit.Git(t, root, "rev-parse", "HEAD")
	_, err = Approve(w, "gate", "Ada Lovelace", at, nil, "", nil)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "work (pending)") || strings.Contains(err.Error(), "base") {
		t.Fatalf("approving before the work landed: %v", err)
	}
	if after, _ := os.ReadFile(w.SpecPath("gate")); string(after) != string(before) || testgit.Git(t, root, "rev-parse", "HEAD") != head {
		t.Error("a refused approval changed the gate or committed")
	}
	// A rejection needs no work to look at.
	if _, err := Reject(w, "gate", "Ada Lovelace", "not this way", at); err != nil {
		t.Errorf("rejecting before the work landed: %v", err)
	}
}
