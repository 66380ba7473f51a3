//go:build !linux

package sandbox

func landlockState() (bool, string) { return false, "no Landlock (not Linux)" }

func restrictThread() error { return nil }
