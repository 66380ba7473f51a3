// Package phase runs one spec's phase as a unit: from its explicit inputs
// (Env: the workspace, repository, agent and sandbox a run or a worker
// shares; the spec's contract; the worktree) to its outcome, a verified
// result landed on the branch or a failure recorded in the spec. The
// steps are begin, attempt (the agent, then verification: the worktree
// compared with the contract, the checks run), and land or fail; progress
// files let the next run take over a phase killed at any instant. A local
// run, a parallel run and a Temporal worker (Worker) all run phases
// through it.
package phase
