package gitrepo

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/chant-run/chant/internal/safefs"
)

// maxRefFile bounds a loose ref or HEAD: a hash or a symbolic ref's line.
const maxRefFile = 4 << 10

// go-git rewrites a ref in place (truncate, then write) and ignores git's
// lock files, so a killed process can leave an empty ref and a concurrent
// git command can interleave. chant moves refs as git does: it creates
// <ref>.lock exclusively (git then waits or fails, never interleaves),
// checks the old value under it, and renames the lock over the ref.

var (
	// ErrRefLocked means git (or another chant) holds the ref's lock file.
	ErrRefLocked = errors.New("ref is locked")
	// ErrRefMoved means the ref no longer holds the value the update
	// expected: someone else moved it.
	ErrRefMoved = errors.New("ref moved")
)

// refFile is the loose file of a ref: HEAD in the work tree's own git
// directory, everything under refs/ in the common one.
func (r *Repo) refFile(name plumbing.ReferenceName) string {
	if name == plumbing.HEAD {
		return filepath.Join(r.GitDir, "HEAD")
	}
	return filepath.Join(r.CommonDir, filepath.FromSlash(name.String()))
}

// readRef returns the commit a ref holds: its loose file, else its line in
// packed-refs. ok is false when the ref does not exist.
func (r *Repo) readRef(name plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	data, err := safefs.ReadRegular(r.refFile(name), maxRefFile)
	if err == nil {
		line := strings.TrimSpace(string(data))
		if !plumbing.IsHash(line) {
			return plumbing.ZeroHash, false, fmt.Errorf("%s holds %q, not a commit", name, line)
		}
		return plumbing.NewHash(line), true, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, false, err
	}
	f, err := os.Open(filepath.Join(r.CommonDir, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return plumbing.ZeroHash, false, nil
	}
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if hash, ref, ok := strings.Cut(line, " "); ok && ref == name.String() && plumbing.IsHash(hash) {
			return plumbing.NewHash(hash), true, nil
		}
	}
	return plumbing.ZeroHash, false, sc.Err()
}

// lockPatience is how long chant waits for a lock file git holds.
var lockPatience = 3 * time.Second

// refLock holds <ref>.lock for one compare-and-swap.
type refLock struct {
	r        *Repo
	name     plumbing.ReferenceName
	old, new plumbing.Hash
	lock     string
}

// lockRef takes the ref's lock with the new value already in it and checks
// that the ref still holds old (zero: must not exist). The lock appears
// whole: the content is written to prepared, a file of chant's, which is
// then hard-linked as the lock, so a lock left by a killed chant is
// recognizable as chant's (the same file as prepared).
func (r *Repo) lockRef(name plumbing.ReferenceName, old, new plumbing.Hash, prepared string) (*refLock, error) {
	if err := writeSynced(prepared, []byte(new.String()+"\n")); err != nil {
		return nil, err
	}
	l := &refLock{r: r, name: name, old: old, new: new, lock: r.refFile(name) + ".lock"}
	if err := os.MkdirAll(filepath.Dir(l.lock), 0o777); err != nil {
		return nil, err
	}
	if err := takeLock(prepared, l.lock, lockPatience); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRefLocked, name.Short(), err)
	}
	cur, exists, err := r.readRef(name)
	if err == nil && (exists != !old.IsZero() || cur != old) {
		err = fmt.Errorf("%w: %s is at %s, not %s", ErrRefMoved, name.Short(), Short(cur.String()), Short(old.String()))
	}
	if err != nil {
		os.Remove(l.lock)
		return nil, err
	}
	return l, nil
}

// takeLock makes lock a hard link of prepared, waiting up to patience for
// a lock held by someone else. Where hard links are not supported, it
// creates the lock exclusively and copies the content.
func takeLock(prepared, lock string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		err := os.Link(prepared, lock)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			data, rerr := os.ReadFile(prepared)
			if rerr != nil {
				return rerr
			}
			f, ferr := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
			if ferr == nil {
				_, ferr = f.Write(data)
				if serr := f.Sync(); ferr == nil {
					ferr = serr
				}
				if cerr := f.Close(); ferr == nil {
					ferr = cerr
				}
				if ferr != nil {
					os.Remove(lock)
				}
				return ferr
			}
			if !errors.Is(ferr, os.ErrExist) {
				return ferr
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s exists: another git process is running, or one was killed and left it (remove it then)", lock)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commit renames the lock over the ref and appends to its reflog.
func (l *refLock) commit(who Person, when time.Time, message string) error {
	if err := os.Rename(l.lock, l.r.refFile(l.name)); err != nil {
		os.Remove(l.lock)
		return fmt.Errorf("update %s: %w", l.name.Short(), err)
	}
	syncDir(filepath.Dir(l.r.refFile(l.name)))
	l.r.appendReflog(l.name, l.old, l.new, who, when, message)
	return nil
}

func (l *refLock) abort() { os.Remove(l.lock) }

// appendReflog records a ref's move as git does, in logs/<ref>, and in
// logs/HEAD when HEAD is that branch. A reflog is a convenience for the
// user (git reflog, recovering a lost commit); failing to write it fails
// nothing.
func (r *Repo) appendReflog(name plumbing.ReferenceName, old, new plumbing.Hash, who Person, when time.Time, message string) {
	_, offset := when.Zone()
	sign := '+'
	if offset < 0 {
		sign, offset = '-', -offset
	}
	line := fmt.Sprintf("%s %s %s <%s> %d %c%02d%02d\t%s\n", old, new, who.Name, who.Email, when.Unix(),
		sign, offset/3600, offset%3600/60, firstLine(message))
	logs := []string{filepath.Join(r.CommonDir, "logs", filepath.FromSlash(name.String()))}
	if name == plumbing.HEAD {
		logs = []string{filepath.Join(r.GitDir, "logs", "HEAD")}
	} else if h, err := os.ReadFile(filepath.Join(r.GitDir, "HEAD")); err == nil && strings.TrimSpace(string(h)) == "ref: "+name.String() {
		logs = append(logs, filepath.Join(r.GitDir, "logs", "HEAD"))
	}
	for _, p := range logs {
		if os.MkdirAll(filepath.Dir(p), 0o777) != nil {
			continue
		}
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err == nil {
			f.WriteString(line)
			f.Close()
		}
	}
}

// writeSynced writes a file of chant's own and syncs it.
func writeSynced(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
