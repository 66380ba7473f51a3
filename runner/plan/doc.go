// Package plan is chant's one state model: Assess says where every spec of
// a workspace stands (completed, ready, waiting on what, blocked by what,
// awaiting an approval that holds or not, invalid and why, running,
// interrupted, failed), from the specs, the config, the agent's
// recordings and the repository. status, show, dag and run all read it.
package plan
