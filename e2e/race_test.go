//go:build race

package e2e

// raceEnabled says the tests run with the race detector; the agent binary is then
// built with it too, from the packages go test already compiled so.
const raceEnabled = true
