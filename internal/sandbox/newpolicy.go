package sandbox

import "fmt"

// NewPolicy is the policy a config asks for: network "deny", "list" (only
// hosts, as host:port) or anything else (allowed), and the writable paths
// expanded (~, $VAR) by getenv; an error names what is wrong.
func NewPolicy(network string, hosts, writable []string, getenv func(string) string) (Policy, error) {
	var p Policy
	switch network {
	case "deny":
		p.Network = NetDeny
	case "list":
		p.Network = NetList
		seen := map[Endpoint]bool{}
		for _, h := range hosts {
			e, err := ParseEndpoint(h)
			if err != nil {
				return p, fmt.Errorf("sandbox.network: %w", err)
			}
			if !seen[e] {
				seen[e] = true
				p.Hosts = append(p.Hosts, e)
			}
		}
	}
	for _, w := range writable {
		abs, err := ExpandPath(w, getenv)
		if err != nil {
			return p, fmt.Errorf("sandbox.writable: %w", err)
		}
		p.Writable = append(p.Writable, abs)
	}
	return p, nil
}
