//go:build race

package main

// raceOn: the tests run with -race, and so should what they build, to
// find the build cache warm.
const raceOn = true
