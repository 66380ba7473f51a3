package spec

import "fmt"

// Fixture, when named, is a repository of its own that a workspace's specs
// run against, made by the Make command the first time a command writes
// (see runner.MakeFixture), under .chant/work/<Name>, which
// .chant/.gitignore keeps out of the workspace's history.
type Fixture struct {
	Name string `yaml:"name"`
	// Make is a shell command, run in the workspace's root, that fills
	// $CHANT_FIXTURE_DIR with a git repository holding a workspace.
	Make string `yaml:"make"`
}

// FixtureDirEnv names the directory a fixture's make command fills.
const FixtureDirEnv = "CHANT_FIXTURE_DIR"

// FixtureError is what is wrong with c's fixture key, or nil.
func (c *Config) FixtureError() error {
	var msg string
	switch f := c.Fixture; {
	case f == Fixture{}:
		return nil
	case !ValidPromptName(f.Name):
		msg = fmt.Sprintf("fixture.name: %q is not a fixture name (letters, digits, '.', '-', '_'; the fixture is made under .chant/work/<name>)", f.Name)
	case f.Make == "":
		msg = "fixture.make: the command that makes the fixture's repository is missing"
	default:
		return nil
	}
	line, _ := c.position("fixture")
	return &Error{Path: c.Path, Line: line, Msg: msg}
}
