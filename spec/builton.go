package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// BuiltOn is what a spec's last phase was built on, recorded when it
// landed, so that a change to any of it makes the spec stale (package
// provenance): hashes of its own text, its prompt template and its agent,
// git's blob hashes (shortened) of the files it was given or follows, and
// of each dependency's target files as the phase saw them. "none" stands
// for a file that was not there.
type BuiltOn struct {
	Spec   string `yaml:"spec"`
	Prompt string `yaml:"prompt"` // "<name> <blob>"
	Agent  string `yaml:"agent"`
	// Approval is the commit a gate's approval was given at: the approval
	// its phase ran under, spent by it.
	Approval   string                       `yaml:"approval,omitempty"`
	Context    map[string]string            `yaml:"context,omitempty"`
	InformedBy map[string]string            `yaml:"informed_by,omitempty"`
	Tracks     map[string]string            `yaml:"tracks,omitempty"`
	Origin     map[string]string            `yaml:"origin,omitempty"`
	Deps       map[string]map[string]string `yaml:"deps,omitempty"`
}

// Acceptance records that a person looked at a stale spec and said it
// stands as it is (chant accept): its inputs were recorded anew.
type Acceptance struct {
	By     string `yaml:"by"`
	At     string `yaml:"at"`
	Reason string `yaml:"reason,omitempty"`
}

// RecordKeys are the frontmatter keys chant writes when it runs or decides
// on a spec (a nil list: the key; else those keys of its mapping): its
// record, not its contract.
var RecordKeys = map[string][]string{
	"status": nil, "commits": nil, "completed_at": nil, "model": nil, "cost": nil,
	"verification_status": nil, "verification_failures": nil, "last_verified": nil,
	"built_on": nil, "outputs": nil, "accepted": nil,
	"approval": {"status", "by", "at", "hash", "commit"},
}

// ShortHash is how long the hashes of a BuiltOn are.
const ShortHash = 12

var tickedBox = regexp.MustCompile(`(?m)^([ \t]*(?:[-*+]|[0-9]+[.)])[ \t]+)\[[xX]\]`)

// OwnHash is the hash of the spec as a contract: its text without its
// record (RecordKeys, chant's record sections) and with every task box
// unticked, so that running it, deciding on it or ticking a box by hand
// leaves it unchanged, and any other edit changes it. Computed once, and
// kept by the listing cache.
func (s *Spec) OwnHash() string {
	s.ownOnce.Do(func() {
		if s.own == "" { // a listing cache's, else computed
			sum := sha256.Sum256(tickedBox.ReplaceAll(s.Reviewed(RecordKeys), []byte("$1[ ]")))
			s.own = hex.EncodeToString(sum[:])[:ShortHash]
		}
	})
	return s.own
}
