package provenance

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/spec"
)

// The verdicts cache: what All found against one commit, kept in chant's
// state directory, so that command after command on the same commit reads
// no tree. A commit's content never changes; what the workspace adds (the
// agent, the default prompt) and every spec's own hash and record are
// summed into its key, so that any change to them is a miss.

// verdictsVersion changes whenever what Changes finds, or how, or the
// file's form changes.
const verdictsVersion = 2

// The file is a line that says what the verdicts are of (the version, the
// commit, the key), then the specs with changes (gob), if any: a hit on a
// repository where nothing is stale decodes nothing.
func verdictsHeader(head string, key uint64) string {
	return fmt.Sprintf("chant verdicts %d %s %016x\n", verdictsVersion, head, key)
}

// All lists what changed for each of specs (completed, with a record),
// by ID (those with changes only), from the cache when it holds them for
// this commit and these specs, else by Changes, and then keeps them.
func (c *Checker) All(specs []*spec.Spec) (map[string][]Change, error) {
	header := verdictsHeader(c.Head.String(), c.key(specs))
	path := filepath.Join(c.Repo.StateDir(), "cache", "verdicts")
	if data, err := safefs.ReadOwn(path, 0); err == nil {
		if rest, ok := bytes.CutPrefix(data, []byte(header)); ok {
			out := map[string][]Change{}
			if len(rest) == 0 || gob.NewDecoder(bytes.NewReader(rest)).Decode(&out) == nil {
				return out, nil
			}
		}
	}
	out := map[string][]Change{}
	for _, s := range specs {
		changes, err := c.Changes(s)
		if err != nil {
			return nil, err
		}
		if len(changes) > 0 {
			out[s.ID] = changes
		}
	}
	buf := bytes.NewBufferString(header)
	if len(out) == 0 || gob.NewEncoder(buf).Encode(out) == nil {
		// Best effort: a read-only repository is read as if there were none.
		if os.MkdirAll(filepath.Dir(path), 0o777) == nil {
			safefs.WriteFileAtomic(path, buf.Bytes())
		}
	}
	return out, nil
}

// key sums what the verdicts of specs depend on besides the commit: the
// agent, the default prompt, and each spec's ID, prompt, own hash, input
// lists and record (its encoding, decoded by no status that hits).
func (c *Checker) key(specs []*spec.Spec) uint64 {
	h := fnv.New64a()
	// What is summed is gathered and written in large pieces: two writes
	// of every string (and a copy of each) were most of the key's cost.
	// Each string is preceded by its length, so no two lists of strings
	// sum the same bytes.
	buf := make([]byte, 0, 64<<10)
	put := func(s string) {
		if len(buf)+binary.MaxVarintLen64+len(s) >= cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = append(binary.AppendUvarint(buf, uint64(len(s))), s...)
	}
	put(c.agent)
	put(c.W.Config.Defaults.Prompt)
	sorted := slices.Clone(specs)
	slices.SortFunc(sorted, func(a, b *spec.Spec) int { return strings.Compare(a.ID, b.ID) })
	for _, s := range sorted {
		put(s.ID)
		put(s.Prompt)
		put(s.OwnHash())
		for _, p := range [][]string{s.Context, s.InformedBy, s.Tracks, s.Origin} {
			put(strconv.Itoa(len(p)))
			for _, x := range p {
				put(x)
			}
		}
		put(s.BuiltOn.Encoding())
	}
	h.Write(buf)
	return h.Sum64()
}
