// Package agent is what does a spec's work: the Agent interface and its
// two kinds (Replay, which plays a recording back, and Command, which runs
// a coding CLI), the presets of the agent CLIs chant knows (their command
// lines, the files they keep state in and read as instructions, how they
// reply), the rendering of a spec's prompt from its contract, and the
// sandbox policy an agent's processes run under.
package agent
