package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chant-run/chant/internal/term"
	"github.com/chant-run/chant/spec/templates"
	"github.com/spf13/cobra"

	"github.com/chant-run/chant/internal/gitdir"
	"github.com/chant-run/chant/internal/safefs"
	"github.com/chant-run/chant/runner/agent"
	"github.com/chant-run/chant/spec"
)

// mcpConfig is Claude Code's file of a repository's MCP servers.
const mcpConfig = ".mcp.json"

// errNotGitRepository means chant init was run outside a git repository.
var errNotGitRepository = errors.New("not a git repository")

type initOptions struct {
	*globals
	agent   string
	name    string
	prompts bool
	mcp     bool
}

func newInitCmd(g *globals) *cobra.Command {
	opts := &initOptions{globals: g}
	c := &cobra.Command{
		Use:   "init",
		Short: "Set chant up in this repository",
		Long: `Set chant up in the current directory of a git repository: .chant/config.md
(commented: each key says what it does), .chant/specs/, and .chant/.gitignore,
which keeps chant's logs out of git status. On a terminal it asks for what
it needs; otherwise it takes the flags and the defaults. Run again, it
changes nothing.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			return runInit(opts, c.Flags().Changed("agent"), c.Flags().Changed("name"))
		},
	}
	c.Flags().StringVar(&opts.agent, "agent", "claude", "the agent: `PRESET` ("+strings.Join(agent.Providers(), ", ")+")")
	c.Flags().StringVar(&opts.name, "name", "", "the project's `NAME` (default: the directory's name)")
	c.Flags().BoolVar(&opts.prompts, "prompts", false, "also write the built-in prompt templates into .chant/prompts/ to edit them")
	c.Flags().BoolVar(&opts.mcp, "mcp", false, "also write .mcp.json, so that Claude Code in this repository can use chant's tools (chant mcp)")
	return c
}

func runInit(opts *initOptions, agentGiven, nameGiven bool) error {
	dir := opts.dir
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := gitdir.Find(abs); err != nil {
		return usage(fmt.Errorf("%w: %s; make one first with: git init", errNotGitRepository, abs))
	}
	if opts.name == "" {
		opts.name = filepath.Base(abs)
	}
	_, err = os.Lstat(filepath.Join(abs, ".chant", spec.ConfigFile))
	exists := err == nil
	if !exists && term.StdinIsTerminal() {
		in := bufio.NewReader(opts.stdin)
		if !nameGiven {
			opts.name = term.Ask(in, opts.stdout, "Project name", opts.name)
		}
		if !agentGiven {
			opts.agent = term.Ask(in, opts.stdout, "Agent ("+strings.Join(agent.Providers(), ", ")+")", opts.agent)
		}
		if _, err := os.Lstat(filepath.Join(abs, mcpConfig)); opts.agent == "claude" && !opts.mcp && err != nil {
			opts.mcp = term.Yes(in, opts.stdout, "Let Claude Code use chant's tools here (write "+mcpConfig+")? [Y/n] ")
		}
	}
	if !slices.Contains(agent.Providers(), opts.agent) {
		return usage(fmt.Errorf("--agent %q: one of %s", opts.agent, strings.Join(agent.Providers(), ", ")))
	}
	wrote, err := opts.writeSetup(abs, exists)
	if err != nil {
		return err
	}
	opts.sayInit(abs, exists, wrote)
	return nil
}

// writeSetup writes what init makes (the config, .chant/.gitignore, the
// specs directory, unless the config exists; the prompts with --prompts),
// never over a file that is there, and returns what it wrote.
func (opts *initOptions) writeSetup(abs string, exists bool) ([]string, error) {
	var wrote []string
	write := func(rel string, data []byte) error {
		path := filepath.Join(abs, filepath.FromSlash(rel))
		if _, err := os.Lstat(path); err == nil {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			return err
		}
		if err := safefs.WriteFileAtomic(path, data); err != nil {
			return err
		}
		wrote = append(wrote, rel)
		return nil
	}
	if !exists {
		if err := write(".chant/"+spec.ConfigFile, templates.Config(opts.name, opts.agent, agent.Providers())); err != nil {
			return nil, err
		}
		if err := write(".chant/.gitignore", []byte("# chant's logs of each phase's agent and checks\nlogs/\n")); err != nil {
			return nil, err
		}
		specs := filepath.Join(abs, ".chant", "specs")
		if _, err := os.Stat(specs); err != nil {
			if err := os.MkdirAll(specs, 0o777); err != nil {
				return nil, err
			}
			wrote = append(wrote, ".chant/specs/")
		}
	}
	if opts.mcp {
		if err := write(mcpConfig, []byte(`{"mcpServers": {"chant": {"command": "chant", "args": ["mcp"]}}}`+"\n")); err != nil {
			return nil, err
		}
	}
	if opts.prompts {
		for _, name := range templates.PromptNames() {
			data, _ := templates.Prompt(name)
			if err := write(".chant/prompts/"+name+".md", data); err != nil {
				return nil, err
			}
		}
	}
	return wrote, nil
}

// sayInit says what init wrote and what to do next.
func (opts *initOptions) sayInit(abs string, exists bool, wrote []string) {
	out := opts.stdout
	if len(wrote) == 0 {
		fmt.Fprintf(out, "chant is already set up in %s (%s); nothing changed.\n", abs, filepath.Join(".chant", spec.ConfigFile))
		return
	}
	if exists {
		fmt.Fprintf(out, "Wrote in %s:\n", abs)
	} else {
		fmt.Fprintf(out, "Set chant up in %s (project %s, agent %s):\n", abs, opts.name, opts.agent)
	}
	for _, w := range wrote {
		fmt.Fprintf(out, "  %s\n", w)
	}
	if exists {
		return
	}
	if p, ok := agent.PresetNamed(opts.agent); ok {
		if _, err := p.Find(); err != nil {
			fmt.Fprintf(out, "%s is not installed here: %s\n", p.Binary, p.Install())
		}
	}
	if opts.agent == "claude" && !slices.Contains(wrote, mcpConfig) {
		fmt.Fprintf(out, "Claude Code can use chant's tools here (chant mcp): %s init --mcp writes %s.\n", opts.invocation(), mcpConfig)
	}
	if opts.agent == "command" {
		fmt.Fprintf(out, "Set agent.command in .chant/%s to the command that runs your agent.\n", spec.ConfigFile)
	}
	fmt.Fprintf(out, "Next:\n  git add .chant && git commit -m \"Set up chant\"\n  %s add \"What to do\" --target FILE --criterion \"What must hold\"\n  %s run\n", opts.invocation(), opts.invocation())
}
