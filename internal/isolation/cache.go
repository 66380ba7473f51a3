package isolation

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Cache is the phase worktrees chant keeps for one repository: a
// directory of BaseDir with a worktree per slot ("phase", "phase-2", …,
// "verify") and each one's private /tmp and sandbox files beside it.
type Cache struct {
	Dir string
	// Repository is the repository the worktrees borrow their objects
	// from (its git directory's parent for a plain repository), as their
	// git directories say; "" if none says.
	Repository string
	// Gone says the repository is no longer there: nothing will use
	// these worktrees again.
	Gone     bool
	Slots    []string
	Size     Bytes     // on disk
	LastUsed time.Time // when a worktree was last synced
}

// BaseDir is the directory the caches are in: CHANT_WORKTREE_DIR, else
// chant/worktrees in the user's cache directory.
func BaseDir() string {
	if base := os.Getenv(DirEnv); base != "" {
		return base
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), fmt.Sprintf("chant-%d", os.Getuid()))
	}
	return filepath.Join(cache, "chant", "worktrees")
}

// Caches lists the caches in base, most recently used first (with their
// sizes if sizes, a walk of each); none when base does not exist.
func Caches(base string, sizes bool) ([]Cache, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Cache
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := Cache{Dir: filepath.Join(base, e.Name())}
		c.read(sizes)
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// read fills in what the cache's directory says of it.
func (c *Cache) read(sizes bool) {
	entries, _ := os.ReadDir(c.Dir)
	for _, e := range entries {
		admin := filepath.Join(c.Dir, e.Name(), ".git")
		if !e.IsDir() || !isDir(admin) {
			continue
		}
		c.Slots = append(c.Slots, e.Name())
		if alt, err := os.ReadFile(filepath.Join(admin, "objects", "info", "alternates")); err == nil && c.Repository == "" {
			objects := strings.TrimSpace(string(alt))
			c.Repository = filepath.Dir(objects) // the git directory
			if filepath.Base(c.Repository) == ".git" {
				c.Repository = filepath.Dir(c.Repository)
			}
			c.Gone = !isDir(objects)
		}
		for _, f := range []string{"index", "HEAD"} {
			if fi, err := os.Stat(filepath.Join(admin, f)); err == nil && fi.ModTime().After(c.LastUsed) {
				c.LastUsed = fi.ModTime()
			}
		}
	}
	if !sizes {
		return
	}
	filepath.WalkDir(c.Dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil {
			if fi, err := d.Info(); err == nil {
				c.Size += Bytes(diskUsage(fi))
			}
		}
		return nil
	})
}

// Remove deletes the cache. Only the caches of repositories that are gone,
// or a repository's own with its workspace locked, may go: a run may be
// using them.
func (c *Cache) Remove() error {
	return os.RemoveAll(c.Dir)
}

// Bytes is a size, said in B, KB, MB, GB or TB (powers of 1024).
type Bytes int64

func (n Bytes) String() string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// PruneGone removes the caches in base of repositories that are gone, and
// returns them.
func PruneGone(base string) ([]Cache, error) {
	caches, err := Caches(base, false)
	if err != nil {
		return nil, err
	}
	var removed []Cache
	for _, c := range caches {
		if c.Gone {
			if err := c.Remove(); err != nil {
				return removed, err
			}
			removed = append(removed, c)
		}
	}
	return removed, nil
}

// diskUsage is what a file takes on disk.
func diskUsage(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
