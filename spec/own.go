package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sync"

	"github.com/chant-run/chant/spec/builton"
)

// Acceptance records that a person looked at a stale spec and said it
// stands as it is (chant accept): its inputs were recorded anew.
type Acceptance struct {
	By     string `yaml:"by"`
	At     string `yaml:"at"`
	Reason string `yaml:"reason,omitempty"`
}

// String says who accepted, when and why.
func (a *Acceptance) String() string {
	if a.Reason == "" {
		return "by " + a.By + " at " + a.At
	}
	return "by " + a.By + " at " + a.At + ": " + a.Reason
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

// tickedBox is a ticked task box, compiled when first needed (not at
// every start).
var tickedBox = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^([ \t]*(?:[-*+]|[0-9]+[.)])[ \t]+)\[[xX]\]`)
})

// OwnHash is the hash of the spec as a contract: its text without its
// record (RecordKeys, chant's record sections) and with every task box
// unticked, so that running it, deciding on it or ticking a box by hand
// leaves it unchanged, and any other edit changes it. Computed once, and
// kept by the listing cache.
func (s *Spec) OwnHash() string {
	s.ownOnce.Do(func() {
		if s.own == "" { // a listing cache's, else computed
			sum := sha256.Sum256(tickedBox().ReplaceAll(s.Reviewed(RecordKeys), []byte("$1[ ]")))
			s.own = hex.EncodeToString(sum[:])[:builton.ShortHash]
		}
	})
	return s.own
}
