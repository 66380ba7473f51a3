package spec

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chant-run/chant/internal/sandbox"
)

// SandboxConfig is config.md's sandbox: what the processes of a phase (the
// agent, isolation.setup, checks) may do beyond their worktree and a
// private /tmp. Absent, they run in a sandbox with the network allowed.
//
//	sandbox: off                     # no sandbox: agents run with your permissions
//	sandbox:
//	  network: deny                  # allow (the default) | deny | [host:port, ...]
//	  writable: [~/.cache/go-build]  # more writable paths (build caches)
type SandboxConfig struct {
	Off      bool
	Network  string   // "", "allow", "deny", or "list" (Hosts)
	Hosts    []string // host:port, as written
	Writable []string // as written
	// problem says what is wrong with the shape of the value, for lint.
	problem string
}

// UnmarshalYAML takes any shape and keeps what is wrong with it for lint,
// which names its line.
func (c *SandboxConfig) UnmarshalYAML(n *yaml.Node) error {
	*c = SandboxConfig{}
	switch n.Kind {
	case yaml.ScalarNode:
		switch strings.ToLower(n.Value) {
		case "off", "false", "no":
			c.Off = true
		case "on", "true", "yes", "":
		default:
			c.problem = fmt.Sprintf("sandbox: %q is neither off nor a mapping (network:, writable:)", n.Value)
		}
		return nil
	case yaml.MappingNode:
	default:
		c.problem = "sandbox: must be off or a mapping (network:, writable:)"
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "network":
			switch v.Kind {
			case yaml.ScalarNode:
				switch v.Value {
				case "allow", "deny":
					c.Network = v.Value
				default:
					c.problem = fmt.Sprintf("sandbox.network: %q is not allow, deny or a list of host:port", v.Value)
				}
			case yaml.SequenceNode:
				c.Network = "list"
				if err := v.Decode(&c.Hosts); err != nil {
					c.problem = "sandbox.network: a list must hold host:port strings"
				}
			default:
				c.problem = "sandbox.network: must be allow, deny or a list of host:port"
			}
		case "writable":
			if err := v.Decode(&c.Writable); err != nil {
				c.problem = "sandbox.writable: must be a list of paths"
			}
		}
	}
	return nil
}

// Policy is the sandbox the config asks for, with writable paths expanded
// (~, $VAR) by getenv; an error names what is wrong. Off is reported by
// the config's Off, never here.
func (c SandboxConfig) Policy(getenv func(string) string) (sandbox.Policy, error) {
	if c.problem != "" {
		return sandbox.Policy{}, fmt.Errorf("%s", c.problem)
	}
	return sandbox.NewPolicy(c.Network, c.Hosts, c.Writable, getenv)
}

// sandboxProblems are lint's errors for the sandbox config.
func sandboxProblems(c *Config, errorAt func(msg string, path ...string)) {
	if _, err := c.Sandbox.Policy(os.Getenv); err != nil {
		key := []string{"sandbox"}
		if msg := err.Error(); strings.HasPrefix(msg, "sandbox.network") {
			key = append(key, "network")
		} else if strings.HasPrefix(msg, "sandbox.writable") {
			key = append(key, "writable")
		}
		errorAt(err.Error(), key...)
	}
}
