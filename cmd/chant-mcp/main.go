// Command chant-mcp is chant's MCP server: chant mcp executes it, so that
// chant itself links no MCP code (the SDK's JSON schemas and HTTP stack
// took a part of every command's start). It is not for people to run;
// see internal/mcpserver.
package main

import (
	"os"

	"github.com/chant-run/chant/internal/mcpserver"
)

func main() {
	os.Exit(mcpserver.Main(os.Args[1:], os.Stderr))
}
