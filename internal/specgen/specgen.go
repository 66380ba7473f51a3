// Package specgen writes large, realistic chant workspaces for benchmarks:
// specs with frontmatter, dependencies, drivers and members, approvals,
// prose, code blocks and acceptance criteria.
package specgen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Generate writes a workspace with n specs under root/.chant and returns the
// paths of the spec files.
func Generate(root string, n int) ([]string, error) {
	specs := filepath.Join(root, ".chant", "specs")
	if err := os.MkdirAll(specs, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, ".chant", "config.md"), []byte("---\nproject:\n  name: generated\n---\n# Generated\n"), 0o644); err != nil {
		return nil, err
	}
	statuses := []string{"completed", "completed", "pending", "in_progress", "failed", "pending"}
	paths := make([]string, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("2026-01-%02d-%03d-%s", 1+i%28, i, base36(i))
		var b strings.Builder
		fmt.Fprintf(&b, "---\ntype: %s\nstatus: %s\n", []string{"code", "task", "research", "documentation"}[i%4], statuses[i%len(statuses)])
		if i > 0 {
			fmt.Fprintf(&b, "depends_on:\n- %s\n", idOf(i-1-(i*7)%min(i, 50)))
		}
		fmt.Fprintf(&b, "labels: [area-%d, team-%d]\ntarget_files:\n- src/module%d/file%d.go\n", i%13, i%5, i%100, i)
		if i%10 == 0 {
			b.WriteString("approval:\n  required: true\n  status: pending\n")
		}
		if i%3 == 0 {
			fmt.Fprintf(&b, "commits:\n- %07x\ncompleted_at: 2026-02-02T14:42:43Z\nmodel: sonnet\n", i*2654435761%(1<<28))
		}
		fmt.Fprintf(&b, "---\n# Spec %d: change module %d\n\n## Context\n\n", i, i%100)
		for p := 0; p < 3; p++ {
			b.WriteString("We need to change the way the module handles concurrent writes, so that no update is ever lost. ")
			b.WriteString("The current code reads, modifies and writes the whole file without a lock.\n\n")
		}
		b.WriteString("```go\nfunc (s *Store) Set(key string, value any) error {\n\tdata, _ := s.load()\n\tdata[key] = value\n\treturn s.save(data)\n}\n```\n\n")
		b.WriteString("## Acceptance Criteria\n\n")
		for c := 0; c < 4; c++ {
			box := " "
			if (i+c)%3 == 0 {
				box = "x"
			}
			fmt.Fprintf(&b, "- [%s] criterion %d of spec %d holds\n", box, c, i)
		}
		path := filepath.Join(specs, id+".md")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func idOf(i int) string { return fmt.Sprintf("2026-01-%02d-%03d-%s", 1+i%28, i, base36(i)) }

func base36(i int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	out := []byte{'0', '0', '0'}
	for p := 2; p >= 0; p-- {
		out[p] = digits[(i*7919)%36]
		i /= 36
	}
	return string(out)
}

// TangledIDs are the IDs of Tangled's workspaces: plain ones, drivers
// with members by file name (g.10 after g.2), members without a driver.
var TangledIDs = []string{"a", "b", "c", "d", "g", "g.1", "g.2", "g.10", "h.1", "h.2", "x"}

// Tangled returns the spec files of a small random workspace, by ID,
// whose specs refer to each other in every way a closure follows:
// dependencies (on absent specs too, and cycles), members by file name
// and by key, drivers, in every status; some files do not parse. Some
// IDs are also in the archive (a duplicate), or there alone.
func Tangled(rng *rand.Rand) (specs, archived map[string]string) {
	ids := TangledIDs
	pick := func() string { return ids[rng.IntN(len(ids))] }
	specs, archived = map[string]string{}, map[string]string{}
	for _, id := range ids {
		if rng.IntN(5) == 0 {
			continue // absent: a missing dependency or member
		}
		fm := "---\nstatus: " + []string{"pending", "completed", "cancelled", "failed"}[rng.IntN(4)] + "\n"
		if n := rng.IntN(3); n > 0 {
			var deps []string
			for range n {
				deps = append(deps, pick())
			}
			fm += "depends_on: [" + strings.Join(deps, ", ") + "]\n"
		}
		if rng.IntN(6) == 0 {
			fm += "members: [" + pick() + "]\n"
		}
		if rng.IntN(10) == 0 {
			fm += "status: [not, a, status\n" // does not parse
		}
		src := fm + "---\n# " + id + "\n\n## Acceptance Criteria\n\n- [ ] done\n"
		switch rng.IntN(12) {
		case 0: // a duplicate of its ID in the archive
			specs[id], archived[id] = src, src
		case 1: // in the archive alone
			archived[id] = src
		default:
			specs[id] = src
		}
	}
	return specs, archived
}
