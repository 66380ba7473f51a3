// Package gitremote fetches and pushes over go-git's network transports
// (ssh, https, git://), for gitrepo.Network. Only chant-temporal links it
// (its workers fetch and push, and it does so for chant's runs): the
// transports' initialisation (SSH, TLS, HTTP/2) was a fifth of every
// chant start.
package gitremote

import (
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"

	"github.com/chant-run/chant/internal/gitrepo"
)

// Transport is gitrepo.Network over go-git's transports: an anonymous
// remote (nothing is written to the config), its references forced.
type Transport struct{}

// Fetch fetches refspecs from url into r.
func (Transport) Fetch(r *gitrepo.Repo, url string, refspecs []string) error {
	remote, specs, err := remoteOf(r, url, refspecs)
	if err != nil {
		return err
	}
	err = remote.Fetch(&git.FetchOptions{RemoteName: "chant", RefSpecs: specs, Force: true, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch from %s: %w", url, err)
	}
	return nil
}

// Push pushes refspecs of r to url.
func (Transport) Push(r *gitrepo.Repo, url string, refspecs []string) error {
	remote, specs, err := remoteOf(r, url, refspecs)
	if err != nil {
		return err
	}
	err = remote.Push(&git.PushOptions{RemoteName: "chant", RefSpecs: specs, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push to %s: %w", url, err)
	}
	return nil
}

func remoteOf(r *gitrepo.Repo, url string, refspecs []string) (*git.Remote, []config.RefSpec, error) {
	specs, err := gitrepo.RefSpecs(refspecs)
	if err != nil {
		return nil, nil, err
	}
	return git.NewRemote(r.Storer(), &config.RemoteConfig{Name: "chant", URLs: []string{url}}), specs, nil
}
