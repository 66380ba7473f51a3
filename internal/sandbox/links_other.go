//go:build !linux

package sandbox

import "errors"

func hasLinkFilter() bool { return false }

func installLinkFilter() error { return errors.New("no seccomp") }

func probeLinkFilter() error { return errors.New("no seccomp") }
