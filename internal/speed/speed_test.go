package main

import (
	"io"
	"strings"
	"testing"
)

// The benchmark runs from the repository, every row, on tiny workspaces:
// what a user runs with scripts/bench works (the figures are not looked
// at: no test depends on timing).
func TestEveryRowRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds chant and runs it some 60 times")
	}
	old, oldDemo := sizes, demoArgs
	defer func() { sizes, demoArgs = old, oldDemo }()
	sizes.many, sizes.most, sizes.files = 12, 30, 40
	demoArgs = []string{"--help"}
	var out strings.Builder
	if err := measureAll(1, "", "", &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	if got, want := strings.Count(table, "\n| "), len(rows)+1; got != want {
		t.Errorf("%d rows in the table, want %d (with the heading):\n%s", got, want, table)
	}
}
