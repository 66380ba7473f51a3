package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chant-run/chant/internal/testgit"
)

// Reviewers decide and runs start at the same moment, from separate
// processes: every decision is recorded and committed, no update is lost,
// and the repository stays sound.
func TestConcurrentCommandsLoseNothing(t *testing.T) {
	requireChant(t)
	dir := testgit.Repo(t, map[string]string{
		".chant/config.md":                    "---\nproject: {name: busy}\n---\n",
		".chant/specs/g.md":                   "---\napproval:\n  required: true\n  status: pending\n---\n# Gate\n\n## Acceptance Criteria\n\n- [ ] ok\n",
		".chant/specs/w1.md":                  "---\ntarget_files: [w1.txt]\n---\n# W1\n\n## Acceptance Criteria\n\n- [ ] done\n",
		".chant/specs/w2.md":                  "---\ndepends_on: [w1]\ntarget_files: [w2.txt]\n---\n# W2\n\n## Acceptance Criteria\n\n- [ ] done\n",
		".chant/recordings/w1/transcript.md":  "w1\n",
		".chant/recordings/w1/recording.yaml": "checked: [done]\n",
		".chant/recordings/w1/files/w1.txt":   "1\n",
		".chant/recordings/w2/transcript.md":  "w2\n",
		".chant/recordings/w2/recording.yaml": "checked: [done]\n",
		".chant/recordings/w2/files/w2.txt":   "2\n",
	})
	const reviewers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string][]int{}
	start := func(kind string, args ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(chantBin, append([]string{"-C", dir}, args...)...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			mu.Lock()
			codes[kind] = append(codes[kind], code)
			mu.Unlock()
			if code != 0 && !(kind == "run" && code == 2 && strings.Contains(string(out), "another chant run is in progress")) {
				t.Errorf("chant %v: exit %d\n%s", args, code, out)
			}
		}()
	}
	for i := 0; i < reviewers; i++ {
		start("reject", "reject", "g", "--by", fmt.Sprintf("Reviewer %d", i), "--reason", fmt.Sprintf("reason %d", i))
		if i%3 == 0 {
			start("run", "run")
		}
	}
	wg.Wait()
	// Whatever the runs did, one more finishes the work.
	if out, errOut, code := chant(t, "-C", dir, "run"); code != 0 {
		t.Fatalf("final run: exit %d\n%s%s", code, out, errOut)
	}

	data, err := os.ReadFile(filepath.Join(dir, ".chant", "specs", "g.md"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < reviewers; i++ {
		entry := regexp.MustCompile(fmt.Sprintf(`(?m)^\*\*Reviewer %d\*\* - .* - REJECTED\n\nreason %d$`, i, i))
		if !entry.Match(data) {
			t.Errorf("the rejection of Reviewer %d was lost:\n%s", i, data)
		}
	}
	log := testgit.Git(t, dir, "log", "--format=%s")
	if n := strings.Count(log, "chant(g): reject"); n != reviewers {
		t.Errorf("%d reject commits, want %d:\n%s", n, reviewers, log)
	}
	for _, id := range []string{"w1", "w2"} {
		if n := strings.Count(log, "chant("+id+"): W"); n != 1 {
			t.Errorf("%d work commits for %s, want 1:\n%s", n, id, log)
		}
	}
	testgit.Git(t, dir, "fsck", "--strict")
	if st := testgit.Git(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("uncommitted changes left:\n%s", st)
	}
}
