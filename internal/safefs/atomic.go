package safefs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteFileAtomic replaces path with data so that readers and crashes see
// the old content or the new, never a mix: it writes a temporary file in the
// same directory, syncs it, renames it over path and syncs the directory.
// An existing file's permissions are kept.
func WriteFileAtomic(path string, data []byte) error {
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+TempMarker+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// TempMarker names WriteFileAtomic's temporary files: .<name>.tmp-<random>.
const TempMarker = ".tmp-"

// staleTemps are the names of the temporary files RemoveStaleTemps removes.
var staleTemps = []string{".*" + TempMarker + "*", ".*.chant-*"}

// RemoveStaleTemps deletes the temporary files a write killed before its
// rename left in dir (WriteFileAtomic's, and those of chant's writes into
// the working tree, .<name>.chant-<random>). The caller must hold the lock
// that serializes writes to dir, so that no live write is removed. A
// directory that cannot be read has nothing to remove. The directory is
// read once, unsorted: a specs directory may hold 10,000 files.
func RemoveStaleTemps(dir string) error {
	if _, clean := listedClean.Load(dir); clean {
		// Listed by this process, with no hidden name: a temporary file
		// left since is a process's killed after, for a later sweep.
		return nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	d := os.NewFile(uintptr(fd), dir)
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, name := range names {
		// Every pattern starts with a dot: most names need no match.
		if !strings.HasPrefix(name, ".") || !slices.ContainsFunc(staleTemps, func(pattern string) bool {
			ok, _ := filepath.Match(pattern, name)
			return ok
		}) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
