// Package templates holds what chant writes into a new workspace and
// uses when the workspace has none of its own: the commented config.md
// (chant init) and the built-in prompt templates.
package templates

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed prompts/*.md
var prompts embed.FS

// Prompt returns the template chant has built in under name
// ("standard"), used when .chant/prompts/<name>.md does not exist.
func Prompt(name string) ([]byte, bool) {
	data, err := prompts.ReadFile("prompts/" + name + ".md")
	return data, err == nil
}

// PromptNames lists the templates chant has built in.
func PromptNames() []string {
	entries, _ := prompts.ReadDir("prompts")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".md"))
	}
	return out
}

//go:embed config.md
var configTemplate string

// Config is a new config.md, for chant init: every key commented
// with what it does. providers are the agents there are.
func Config(name, provider string, providers []string) []byte {
	quoted := name
	if strings.ContainsAny(name, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(name) != name {
		quoted = fmt.Sprintf("%q", name)
	}
	command := "  # command: my-agent --flag          # with provider: command, the command that runs the agent (the prompt on its standard input)\n" +
		"  # name: my-agent                    # with provider: command, its commits' author: \"my-agent (chant)\"\n"
	if provider == "command" {
		command = "  command:                             # the command that runs your agent: the prompt comes on its standard input\n" +
			"  name: agent                          # its commits' author: \"agent (chant)\"\n"
	}
	return []byte(strings.NewReplacer("{{name}}", quoted, "{{provider}}", provider, "{{providers}}", strings.Join(providers, ", "),
		"{{command}}", command, "{{title}}", name).Replace(configTemplate))
}
