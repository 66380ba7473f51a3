package agent

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/chant-run/chant/internal/safefs"
)

// A plain model (Ollama) cannot edit files: its prompt asks it to reply
// with every file it changes whole, in blocks
//
//	=== <path relative to the repository root>
//	<the file's full new content>
//	=== end
//
// which chant writes into the phase's worktree, never outside it. It ticks
// its boxes by giving the spec file back with them ticked; verification
// judges all of it as any agent's work.

func replyInstructions(job *Job) string {
	spec, _ := filepath.Rel(job.Dir, job.SpecFile)
	return fmt.Sprintf(`

## How to reply

You cannot edit files yourself. Reply with the full new content of every file
you change, each as a block:

=== <path relative to the repository root>
<the file's full new content>
=== end

When an acceptance criterion holds, give the spec file %s back in the same
way, with that criterion's box ticked ("- [x]") and nothing else changed.
`, filepath.ToSlash(spec))
}

// writeReplyFiles writes the files of a reply's blocks into the worktree.
func writeReplyFiles(job *Job, reply string) error {
	root := safefs.Root{Dir: job.Dir}
	var path string
	var body []string
	for _, line := range strings.Split(strings.ReplaceAll(reply, "\r\n", "\n"), "\n") {
		switch {
		case path == "" && strings.HasPrefix(line, "=== ") && strings.TrimSpace(line) != "=== end":
			path, body = strings.TrimSpace(strings.TrimPrefix(line, "=== ")), nil
		case path != "" && strings.TrimSpace(line) == "=== end":
			rel := filepath.ToSlash(filepath.Clean(path))
			if !filepath.IsLocal(rel) {
				return fmt.Errorf("the reply writes %s, outside the repository", path)
			}
			if err := root.WriteFile(rel, []byte(strings.Join(body, "\n")+"\n"), safefs.Regular, false); err != nil {
				return err
			}
			fmt.Fprintf(job.Log, "wrote %s\n", rel)
			path = ""
		case path != "":
			body = append(body, line)
		}
	}
	return nil
}
