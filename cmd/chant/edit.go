package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/fault"
	"github.com/chant-run/chant/internal/term"
	"github.com/chant-run/chant/internal/words"
	"github.com/chant-run/chant/runner/plan"
	"github.com/chant-run/chant/spec"
	"github.com/chant-run/chant/spec/store"
)

type editOptions struct {
	*globals
	id    string
	force bool
}

func newEditCmd(g *globals) *cobra.Command {
	opts := &editOptions{globals: g}
	c := &cobra.Command{
		Use:   "edit ID",
		Short: "Open a spec in $VISUAL or $EDITOR, and save it only if it lints clean",
		Long: `Open a copy of the spec in $VISUAL or $EDITOR (else vi). What the editor
leaves is checked as chant lint would, against the other specs: with an
error, chant says where and, on a terminal, offers to edit again; it saves
nothing unless --force (the text is kept in a file it names). The spec is
saved only if its file has not changed meanwhile, and not while it runs.`,
		Args:              exactArgs(1, "one spec ID"),
		ValidArgsFunction: completeIDs(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.id = args[0]
			return runEdit(opts)
		},
	}
	c.Flags().BoolVar(&opts.force, "force", false, "save the spec even with lint errors")
	return c
}

var errEditRefused = fault.New(fault.Input, "not saved")

func runEdit(opts *editOptions) error {
	w, err := opts.workspace()
	if err != nil {
		return err
	}
	set, err := store.List(w)
	if err != nil {
		return err
	}
	s, err := set.Resolve(opts.id)
	if err != nil {
		return usage(err)
	}
	if s.Status == spec.StatusInProgress {
		return usage(fmt.Errorf("%s is in progress: edit it once its run has ended", s.ID))
	}
	before, err := os.ReadFile(s.Path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "chant-edit-*-"+filepath.Base(s.Path))
	if err != nil {
		return err
	}
	tmp.Close()
	kept := false
	defer func() {
		if !kept {
			os.Remove(tmp.Name())
		}
	}()
	if err := os.WriteFile(tmp.Name(), before, 0o600); err != nil {
		return err
	}
	in := bufio.NewReader(opts.stdin)
	for {
		if err := term.Edit(tmp.Name(), opts.stdin, opts.rawStdout, opts.rawStderr); err != nil {
			return err
		}
		after, err := os.ReadFile(tmp.Name())
		if err != nil {
			return err
		}
		if string(after) == string(before) {
			fmt.Fprintf(opts.stdout, "%s is unchanged.\n", s.ID)
			return nil
		}
		errs := editProblems(set, s, after, opts.stderr)
		if errs == 0 || opts.force {
			if err := store.SaveEdited(w, s, before, after); err != nil {
				if errors.Is(err, store.ErrChangedMeanwhile) {
					err = fmt.Errorf("%w: %v", errEditRefused, err)
				}
				kept = true
				return fmt.Errorf("%w (your text is in %s)", err, tmp.Name())
			}
			fmt.Fprintf(opts.stdout, "Saved %s%s.\n", w.Rel(s.Path), map[bool]string{true: " with lint errors (--force)"}[errs > 0])
			return nil
		}
		if !term.StdinIsTerminal() || !term.Yes(in, opts.stdout, "Edit it again? [Y/n] ") {
			kept = true
			return fmt.Errorf("%w: %s has %s; your text is in %s (--force saves it as it is)", errEditRefused, s.ID, words.Plural(errs, "lint error"), tmp.Name())
		}
	}
}

// editProblems prints the lint problems of the edited text of s, checked
// against the other specs of set, and returns how many are errors.
func editProblems(set *spec.Set, s *spec.Spec, text []byte, w io.Writer) int {
	problems, err := plan.EditedProblems(set, s, text)
	if err != nil {
		fmt.Fprintln(w, err)
		return 1
	}
	errs := 0
	for _, p := range problems {
		fmt.Fprintln(w, p)
		if p.Severity == spec.SeverityError {
			errs++
		}
	}
	return errs
}
