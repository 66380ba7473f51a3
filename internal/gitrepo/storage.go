package gitrepo

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"

	"github.com/chant-run/chant/internal/safefs"
)

// repository is what chant uses of a go-git Repository, on its storage
// alone: go-git's top-level package links its network transports (ssh,
// https), whose initialisation was a fifth of every chant start. Fetching
// and pushing over them is package gitremote's, in chant-temporal.
type repository struct {
	Storer storage.Storer
	config string // its config file's path (readConfig)
}

// openStorage opens the repository whose own git directory is gitDir and
// whose objects and references are in commonDir (the same outside linked
// worktrees), as go-git's PlainOpen does: it has a HEAD, and a format
// go-git reads. Both are checked on the files themselves: through go-git's
// storage (billy's chroot resolves every path component) they were most
// of an open, and status opens the repository on every start.
func openStorage(gitDir, commonDir string) (*repository, error) {
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotRepository
	} else if err != nil {
		return nil, err
	}
	configPath := filepath.Join(commonDir, "config")
	cfg, err := readConfig(configPath)
	if err != nil {
		return nil, err
	}
	if err := checkFormat(cfg); err != nil {
		return nil, err
	}
	var files billy.Filesystem = osfs.New(gitDir)
	if commonDir != gitDir {
		files = dotgit.NewRepositoryFilesystem(files, osfs.New(commonDir))
	}
	s := filesystem.NewStorage(files, cache.NewObjectLRUDefault())
	return &repository{Storer: newObjectStore(s, commonDir), config: configPath}, nil
}

// readConfig reads a repository's config file as go-git's storage does
// (none is an empty one).
func readConfig(path string) (*config.Config, error) {
	data, err := safefs.ReadRegular(path, maxConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return config.NewConfig(), nil
	}
	if err != nil {
		return nil, err
	}
	return config.ReadConfig(bytes.NewReader(data))
}

// maxConfig bounds the size of a repository's config file.
const maxConfig = 16 << 20

// checkFormat refuses a repository format go-git does not read, as its
// PlainOpen does: a format version past 1, or an extension (such as
// another object format) but its no-ops.
func checkFormat(cfg *config.Config) error {
	switch v := cfg.Core.RepositoryFormatVersion; v {
	case "", "0", "1":
	default:
		return fmt.Errorf("core.repositoryformatversion not supported: %q", v)
	}
	if cfg.Raw == nil || !cfg.Raw.HasSection("extensions") {
		return nil
	}
	var unknown []string
	for _, o := range cfg.Raw.Section("extensions").Options {
		if k := strings.ToLower(o.Key); !(k == "noop" || k == "noop-v1" && cfg.Core.RepositoryFormatVersion == "1") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown extension: %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (r *repository) CommitObject(h plumbing.Hash) (*object.Commit, error) {
	return object.GetCommit(r.Storer, h)
}

func (r *repository) TreeObject(h plumbing.Hash) (*object.Tree, error) {
	return object.GetTree(r.Storer, h)
}

// identity is user.name and user.email as the repository's config, else
// the user's (global), else the system's says; "" where none does, or a
// config cannot be read.
func (r *repository) identity() (name, email string) {
	local, err := readConfig(r.config)
	if err != nil {
		return "", ""
	}
	name, email = local.User.Name, local.User.Email
	for _, scope := range []config.Scope{config.GlobalScope, config.SystemScope} {
		cfg, err := config.LoadConfig(scope)
		if err != nil {
			return "", ""
		}
		name, email = cmp.Or(name, cfg.User.Name), cmp.Or(email, cfg.User.Email)
	}
	return name, email
}

// resolve finds the commit rev names: the commit (or a tag's) of the
// objects whose hashes begin with it, else of the reference it names
// (git's rules: HEAD, refs/rev, refs/tags/rev, refs/heads/rev, ...).
func (r *repository) resolve(rev string) (plumbing.Hash, bool) {
	try := r.hashesWithPrefix(rev)
	for _, rule := range plumbing.RefRevParseRules {
		if ref, err := storer.ResolveReference(r.Storer, plumbing.ReferenceName(fmt.Sprintf(rule, rev))); err == nil {
			try = append(try, ref.Hash())
			break
		}
	}
	for _, h := range try {
		if _, err := object.GetCommit(r.Storer, h); err == nil {
			return h, true
		}
		if tag, err := object.GetTag(r.Storer, h); err == nil {
			if c, err := tag.Commit(); err == nil {
				return c.Hash, true
			}
		}
	}
	return plumbing.ZeroHash, false
}

// hashesWithPrefix are the objects whose hashes begin with the hex digits
// prefix (none if it is not hex).
func (r *repository) hashesWithPrefix(prefix string) []plumbing.Hash {
	if prefix == "" || len(prefix) > 2*len(plumbing.ZeroHash) {
		return nil
	}
	if len(prefix) == 2*len(plumbing.ZeroHash) {
		if _, err := hex.DecodeString(prefix); err != nil {
			return nil
		}
		return []plumbing.Hash{plumbing.NewHash(prefix)}
	}
	even, err := hex.DecodeString(prefix[:len(prefix)&^1])
	if err != nil || len(prefix)%2 == 1 && !strings.ContainsRune("0123456789abcdefABCDEF", rune(prefix[len(prefix)-1])) {
		return nil
	}
	o, ok := r.Storer.(*objectStore)
	if !ok {
		return nil
	}
	found, err := o.HashesWithPrefix(even)
	if err != nil {
		return nil
	}
	var out []plumbing.Hash
	for _, h := range found {
		if strings.HasPrefix(h.String(), strings.ToLower(prefix)) {
			out = append(out, h)
		}
	}
	return out
}
