// Package store is how a workspace's spec files are read fast, beside
// package spec (the format): List, for the read-only commands, takes what
// a file gave from the listing cache (on disk, in git's directory) while
// its stat data is unchanged; a Reloader, for a run, keeps whole specs in
// memory and reads again only the files inotify says changed.
package store
