package gitrepo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Init makes dir a new, empty git repository (a work tree with .git) if it
// is not one yet, and opens it.
func Init(dir string) (*Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		if _, err := git.PlainInit(dir, false); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
			return nil, fmt.Errorf("git init %s: %w", dir, err)
		}
	}
	return Open(dir)
}

// SetRef points a reference (refs/...) at a hash, whatever it held.
func (r *Repo) SetRef(name string, h plumbing.Hash) error {
	if err := plumbing.ReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("reference %q: %w", name, err)
	}
	return r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(name), h))
}

// Ref returns the hash a reference points at (zero if it does not exist).
func (r *Repo) Ref(name string) (plumbing.Hash, error) {
	ref, err := r.repo.Storer.Reference(plumbing.ReferenceName(name))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}

// Fetch fetches refspecs from the repository at url (a path, file://, ssh
// or https: go-git's transports), forcing the local references they name.
func (r *Repo) Fetch(url string, refspecs ...string) error {
	remote, specs, err := r.remote(url, refspecs)
	if err != nil {
		return err
	}
	err = remote.Fetch(&git.FetchOptions{RemoteName: "chant", RefSpecs: specs, Force: true, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch from %s: %w", url, err)
	}
	return nil
}

// Push pushes refspecs to the repository at url, forcing the references
// they name there.
func (r *Repo) Push(url string, refspecs ...string) error {
	remote, specs, err := r.remote(url, refspecs)
	if err != nil {
		return err
	}
	err = remote.Push(&git.PushOptions{RemoteName: "chant", RefSpecs: specs, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push to %s: %w", url, err)
	}
	return nil
}

// remote is an anonymous remote at url (nothing is written to the
// config), with refspecs checked.
func (r *Repo) remote(url string, refspecs []string) (*git.Remote, []config.RefSpec, error) {
	specs := make([]config.RefSpec, len(refspecs))
	for i, s := range refspecs {
		specs[i] = config.RefSpec(s)
		if err := specs[i].Validate(); err != nil {
			return nil, nil, fmt.Errorf("refspec %q: %w", s, err)
		}
	}
	return git.NewRemote(r.repo.Storer, &config.RemoteConfig{Name: "chant", URLs: []string{url}}), specs, nil
}
