// Package specgen writes large, realistic chant workspaces for benchmarks:
// specs with frontmatter, dependencies, drivers and members, approvals,
// prose, code blocks and acceptance criteria.
package specgen

import (
	"fmt"
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
