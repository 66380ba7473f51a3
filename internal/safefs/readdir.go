package safefs

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Files lists the paths of the files in dir whose names end with suffix
// (not directories), in order (see FileNames), as filepath.Join makes
// them, and made as slices of one string rather than one by one (the
// names too are read into one buffer: 10,000 names were 10,000
// allocations).
func Files(dir, suffix string) ([]string, error) {
	var names []byte // one after the other
	var ends []int
	err := readNames(dir, suffix, func(name []byte) {
		names = append(names, name...)
		ends = append(ends, len(names))
	})
	if err != nil {
		return nil, err
	}
	name := func(i int) []byte {
		if i == 0 {
			return names[:ends[0]]
		}
		return names[ends[i-1]:ends[i]]
	}
	order := make([]int, len(ends))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(name(a), name(b)) })
	prefix := filepath.Join(dir, "x")
	prefix = prefix[:len(prefix)-1]
	var all strings.Builder
	all.Grow(len(ends)*len(prefix) + len(names))
	for _, i := range order {
		all.WriteString(prefix)
		all.Write(name(i))
	}
	joined, off := all.String(), 0
	paths := make([]string, len(order))
	for k, i := range order {
		n := len(prefix) + len(name(i))
		paths[k], off = joined[off:off+n], off+n
	}
	return paths, nil
}

// FileNames lists the names in dir that end with suffix and are not
// directories, in no order; none if dir does not exist. It reads the
// directory's entries with their types, as os.ReadDir does, without
// making an object of each: a specs directory may hold 100,000 files.
// A directory it finds no hidden name in (as temporary files are) is
// one RemoveStaleTemps need not read again in this process.
func FileNames(dir, suffix string) ([]string, error) {
	var names []string
	err := readNames(dir, suffix, func(name []byte) { names = append(names, string(name)) })
	return names, err
}

// readNames calls yield with each name FileNames lists (a slice of its
// buffer, valid during the call).
func readNames(dir, suffix string, yield func(name []byte)) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	hidden := false
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "readdir", Path: dir, Err: err}
		}
		if n <= 0 {
			if !hidden {
				listedClean.Store(dir, true)
			}
			return nil
		}
		// Each record: inode (8), offset (8), its length (2), type (1), the
		// name, NUL-terminated and padded.
		for rec := buf[:n]; len(rec) >= 19; {
			reclen := int(*(*uint16)(unsafe.Pointer(&rec[16])))
			if reclen < 19 || reclen > len(rec) {
				break
			}
			name := rec[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			typ := rec[18]
			rec = rec[reclen:]
			hidden = hidden || len(name) > 0 && name[0] == '.' && string(name) != "." && string(name) != ".."
			if !bytes.HasSuffix(name, []byte(suffix)) || typ == unix.DT_DIR {
				continue
			}
			if typ == unix.DT_UNKNOWN { // a file system that does not say
				var st unix.Stat_t
				if unix.Fstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
					continue
				}
			}
			yield(name)
		}
	}
}

// listedClean holds the directories FileNames found no hidden name in.
var listedClean sync.Map
