//go:build !linux

package spec

// dirWatch is inotify's (see watch_linux.go); elsewhere the Reloader stats
// every file.
type dirWatch struct{}

func watchSpecs(*Workspace) *dirWatch { return nil }

func (*dirWatch) changes(*Workspace) (map[string]bool, bool) { return nil, true }

func (*dirWatch) close() {}
