package spec

import (
	"fmt"
	"testing"
)

func TestConfigParallel(t *testing.T) {
	for src, want := range map[string]string{
		"---\ndefaults:\n  parallel: 4\n---\n":  "",
		"---\ndefaults:\n  parallel: 0\n---\n":  "",
		"---\ndefaults:\n  parallel: 65\n---\n": "config.md:3:13: defaults.parallel: 65 is not a number of specs to run at once (1 to 64)",
		"---\ndefaults:\n  parallel: -1\n---\n": "config.md:3:13: defaults.parallel: -1 is not a number of specs to run at once (1 to 64)",
		// Where phases run.
		"---\nengine: temporal\ntemporal:\n  address: h:7233\n  heartbeat: 10s\n---\n": "",
		"---\nengine: local\n---\n":               "",
		"---\nengine: kubernetes\n---\n":          "config.md:2:9: engine: \"kubernetes\" is not an engine (local or temporal)",
		"---\ntemporal:\n  heartbeat: 1ms\n---\n": "config.md:3:14: temporal.heartbeat: \"1ms\" is not a duration of a second or more (such as 30s)",
	} {
		c, err := ParseConfig("config.md", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, p := range ConfigProblems(c) {
			if p.Code == CodeConfig {
				got = fmt.Sprintf("%s:%d:%d: %s", p.Path, p.Line, p.Col, p.Message)
			}
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", src, got, want)
		}
	}
	if _, err := ParseConfig("config.md", []byte("---\ndefaults:\n  parallel: many\n---\n")); err == nil {
		t.Error("parallel: many parsed")
	}
}
