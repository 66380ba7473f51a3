//go:build failpoint

package failpoint

const enabled = true
