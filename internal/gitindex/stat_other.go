//go:build !linux && !darwin

package gitindex

import "os"

func sysStat(fi os.FileInfo) (Stat, bool) { return Stat{}, false }
