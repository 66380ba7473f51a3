//go:build !linux

package store

import "github.com/chant-run/chant/spec"

// dirWatch is inotify's (see watch_linux.go); elsewhere the Reloader stats
// every file.
type dirWatch struct{}

func watchSpecs(*spec.Workspace) *dirWatch { return nil }

func (*dirWatch) changes(*spec.Workspace) (map[string]bool, bool) { return nil, true }

func (*dirWatch) close() {}
