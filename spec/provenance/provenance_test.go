package provenance

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chant-run/chant/internal/gitrepo"
	"github.com/chant-run/chant/internal/testgit"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/builton"
	"github.com/chant-run/chant/spec/doc"
)

const upstream = "---\ntarget_files: [up.txt]\nstatus: completed\n---\n# Up\n\n## Acceptance Criteria\n\n- [x] up\n"

const downstream = "---\ntarget_files: [down.txt]\ndepends_on: [up]\ninformed_by: [notes/*.md]\ncontext: [ctx.md]\ntracks: [src/lib.go]\norigin: [data.csv]\nstatus: completed\n---\n# Down\n\n## Acceptance Criteria\n\n- [ ] down\n"

// fixture is a repository where down is completed and records what it was
// built on as HEAD holds it.
func fixture(t *testing.T) (*spec.Workspace, string) {
	t.Helper()
	dir := testgit.Repo(t, map[string]string{
		".chant/config.md":     "---\nproject: {name: t}\n---\n",
		".chant/specs/up.md":   upstream,
		".chant/specs/down.md": downstream,
		"notes/a.md":           "a\n", "ctx.md": "ctx\n", "src/lib.go": "package lib\n", "up.txt": "up\n", "data.csv": "1,2\n",
	})
	w := open(t, dir)
	s := w.set.Get("down")
	b, err := Current(w.w, w.set, s, w.tree(t))
	if err != nil {
		t.Fatal(err)
	}
	e := doc.NewEditor(s.Bytes())
	e.Set("built_on", KV(b))
	data, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, ".chant/specs/down.md", string(data))
	testgit.Git(t, dir, "commit", "-qam", "down completed")
	return w.w, dir
}

type opened struct {
	w    *spec.Workspace
	set  *spec.Set
	repo *gitrepo.Repo
}

func open(t *testing.T, dir string) opened {
	t.Helper()
	w, err := spec.OpenWorkspace(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := gitrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return opened{w, set, repo}
}

func (o opened) tree(t *testing.T) *Tree {
	t.Helper()
	head, err := o.repo.ReadHead()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := NewTree(o.w, o.repo, head.Commit)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func write(t *testing.T, dir, rel, text string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// changes lists what the checker says of down, as its words.
func changes(t *testing.T, dir string) []string {
	t.Helper()
	o := open(t, dir)
	head, _ := o.repo.ReadHead()
	c := NewChecker(o.w, o.repo, head.Commit)
	got, err := c.Changes(o.set.Get("down"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ch := range got {
		out = append(out, ch.String())
	}
	return out
}

func TestEachInputChangedSaysWhich(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  map[string]string
		want  string // "" for no change at all
		extra func(dir string)
	}{
		{name: "nothing", want: ""},
		{name: "an unrelated file", edit: map[string]string{"README": "x\n"}, want: ""},
		{name: "informed_by", edit: map[string]string{"notes/a.md": "b\n"}, want: "informed_by notes/a.md changed in "},
		{name: "a new match of a glob", edit: map[string]string{"notes/b.md": "b\n"}, want: "informed_by notes/b.md was added in "},
		{name: "context", edit: map[string]string{"ctx.md": "other\n"}, want: "context ctx.md changed in "},
		{name: "tracks", edit: map[string]string{"src/lib.go": "package lib // v2\n"}, want: "tracks src/lib.go changed in "},
		{name: "origin", edit: map[string]string{"data.csv": "1,3\n"}, want: "origin data.csv changed in "},
		{name: "a dependency's output", edit: map[string]string{"up.txt": "up, again\n"}, want: "up's target up.txt changed in "},
		{name: "the prompt template", edit: map[string]string{".chant/prompts/standard.md": "Do {{spec.title}}.\n"}, want: "its prompt template .chant/prompts/standard.md changed in "},
		{name: "the agent", edit: map[string]string{".chant/config.md": "---\nproject: {name: t}\ndefaults: {model: other}\n---\n"}, want: "the agent configuration changed in "},
		{name: "its spec", extra: func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ".chant/specs/down.md"))
			write(t, dir, ".chant/specs/down.md", strings.Replace(string(b), "# Down", "# Down, differently", 1))
		}, want: "its spec changed in "},
		{name: "its record and ticks only", extra: func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ".chant/specs/down.md"))
			e := doc.NewEditor(b)
			e.Set("commits", []string{"abc1234"})
			e.SetIn("approval", "status", "approved")
			e.AppendBody(spec.AgentOutputBlock(at(), "done"))
			text, _ := e.Bytes()
			write(t, dir, ".chant/specs/down.md", strings.Replace(string(text), "- [ ] down", "- [x] down", 1))
		}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, dir := fixture(t)
			for rel, text := range tc.edit {
				write(t, dir, rel, text)
			}
			if tc.extra != nil {
				tc.extra(dir)
			}
			testgit.Git(t, dir, "add", "-A")
			testgit.Git(t, dir, "commit", "-qm", "edit", "--allow-empty")
			got := changes(t, dir)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("changes %q, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want)):
				t.Errorf("changes %q, want one starting %q", got, tc.want)
			}
		})
	}
}

func TestARemovedInputIsSaid(t *testing.T) {
	_, dir := fixture(t)
	testgit.Git(t, dir, "rm", "-q", "ctx.md")
	testgit.Git(t, dir, "commit", "-qm", "no context")
	if got := changes(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], "context ctx.md was removed in ") {
		t.Errorf("changes %q", got)
	}
}

func TestOwnHashKeptByTheListingCache(t *testing.T) {
	w, _ := fixture(t)
	set, err := w.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := set.Get("down")
	sn := s.Snapshot(nil)
	if sn.Own == "" || sn.Own != s.OwnHash() {
		t.Fatalf("snapshot's own hash %q, spec's %q", sn.Own, s.OwnHash())
	}
	var back spec.Spec
	restored, _ := sn.Restore(s.Path, s.Path, &back)
	if restored.OwnHash() != s.OwnHash() {
		t.Errorf("restored own hash %q, want %q", restored.OwnHash(), s.OwnHash())
	}
}

func TestRecordSurvivesTheListingCache(t *testing.T) {
	r := builton.Record{Spec: "a", Prompt: "standard 0123", Agent: "b", Approval: "c0ffee",
		InformedBy: builton.Blobs{{Path: "\x00odd", Hash: builton.None}, {Path: "x y.md", Hash: "1"}},
		Deps:       builton.Deps{{ID: "up", Files: builton.Blobs{{Path: "up.txt", Hash: "2"}}}, {ID: "empty"}}}
	data, err := r.GobEncode()
	if err != nil {
		t.Fatal(err)
	}
	var back builton.Record
	if err := back.GobDecode(data); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("decoded %+v, %v; want %+v", back, err, r)
	}
	for n := range data {
		if err := new(builton.Record).GobDecode(data[:n]); err == nil {
			t.Errorf("a record cut at %d of %d bytes decodes", n, len(data))
		}
	}
	if !r.InformedBy.Equal(builton.FromMap(map[string]string{"\x00odd": builton.None, "x y.md": "1"})) || r.InformedBy.Equal(r.Context) {
		t.Error("Equal disagrees with the files")
	}
}

func at() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC) }

func TestMatchGlobs(t *testing.T) {
	_, dir := fixture(t)
	tree := open(t, dir).tree(t)
	for pattern, want := range map[string]string{
		"*.md": "ctx.md", "notes/*.md": "notes/a.md", "src/*/x": "", "*/lib.go": "src/lib.go", "ctx.md": "ctx.md", "gone.md": "gone.md",
	} {
		got, err := tree.Match(pattern)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("Match(%q) = %q, %v; want %q", pattern, got, err, want)
		}
	}
}
