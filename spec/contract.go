package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// Contract is what a phase of a spec is given, read once at its start:
// the spec, the prompt template it runs with, the agent configuration and
// its context and informed_by files. The rest of the phase never reads
// them again, so that an edit made meanwhile is not half taken.
type Contract struct {
	Spec       *Spec       // the spec as read
	PromptName string      // its prompt template's name
	Template   []byte      // the template; nil if there is none
	Inputs     []InputFile // its context and informed_by files
	Agent      []byte      // the agent's configuration, canonical
}

// ReadContract reads the contract of s; override is run --prompt.
func ReadContract(w *Workspace, s *Spec, override string) (*Contract, error) {
	c := &Contract{Spec: s, PromptName: PromptName(w.Config, s, override)}
	var err error
	if c.Template, err = w.ReadPrompt(c.PromptName); errors.Is(err, fs.ErrNotExist) {
		c.Template = nil // no template: nothing to render (the replay agent needs none)
	} else if err != nil {
		return nil, fmt.Errorf("spec %s: %w", s.ID, err)
	}
	if c.Inputs, err = w.ReadInputs(append(append([]string{}, s.Context...), s.InformedBy...)); err != nil {
		return nil, fmt.Errorf("spec %s: context/informed_by: %w", s.ID, err)
	}
	c.Agent = w.Config.agentCanonical()
	return c, nil
}

// agentCanonical is the configuration that decides what an agent does and
// may do, as canonical JSON.
func (cfg *Config) agentCanonical() []byte {
	agent := map[string]any{
		"provider": cfg.Defaults.Provider, "model": cfg.Defaults.Model,
		"command": cfg.Agent.Command, "timeout": cfg.Agent.Timeout,
		"replay_dir": cfg.Replay.Dir,
		// Recordings built into chant are gone; the key stays, empty, so
		// that approvals given before still hold.
		"replay_bundle":  "",
		"isolation_copy": cfg.Isolation.Copy, "isolation_setup": cfg.Isolation.Setup,
		// What the agent may do: an approval given in a sandbox does not
		// hold for a run without one.
		"sandbox_off": cfg.Sandbox.Off, "sandbox_network": cfg.Sandbox.Network, "sandbox_hosts": cfg.Sandbox.Hosts,
		"sandbox_writable": cfg.Sandbox.Writable,
	}
	if cfg.Agent.Model != "" {
		// The model a preset runs (only when set, so that approvals given
		// before agent.model existed still hold).
		agent["agent_model"] = cfg.Agent.Model
	}
	b, _ := json.Marshal(agent) // maps marshal sorted
	return b
}
