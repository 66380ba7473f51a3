package phase

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
)

// A spec's log, .chant/logs/<id>.log, holds each of its phases in turn,
// each from a header line "=== <time> <id>: <title>": the sandbox, the
// agent's prompt and output (see agent.LogRenderer), the checks' output.

// LogPath is the spec's log, relative to the workspace's root.
func LogPath(id string) string {
	return filepath.ToSlash(filepath.Join(".chant", spec.LogsDir, id+".log"))
}

func logHeader(now time.Time, s *spec.Spec) string {
	return fmt.Sprintf("=== %s %s: %s\n", now.UTC().Format(time.RFC3339), s.ID, s.Title)
}

// LastPhase returns where the last phase's part of a spec's log begins:
// its header line (an agent's output may have lines beginning with
// "=== " too).
func LastPhase(data []byte, id string) int {
	header := regexp.MustCompile(`^=== [0-9]{4}-[0-9]{2}-[0-9]{2}T\S+ ` + regexp.QuoteMeta(id) + `: `)
	for end := len(data); end > 0; {
		i := bytes.LastIndex(data[:end], []byte("=== "))
		if i < 0 {
			break
		}
		if (i == 0 || data[i-1] == '\n') && header.Match(data[i:]) {
			return i
		}
		end = i
	}
	return 0
}

// openLog opens the spec's log for appending: .chant/logs/<id>.log, never
// through a symbolic link (a committed one could point anywhere).
func (r *Env) openLog(id string) (*os.File, error) {
	rel := LogPath(id)
	f, err := safefs.Root{Dir: r.Workspace.Root}.OpenAppend(rel)
	if errors.Is(err, safefs.ErrSymlink) || errors.Is(err, safefs.ErrNotRegular) {
		return nil, fmt.Errorf("%s: %w: %v; chant writes its log there: remove it", rel, ErrUnsafePath, err)
	}
	return f, err
}
