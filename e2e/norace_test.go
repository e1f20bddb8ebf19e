//go:build !race

package e2e

// raceEnabled says the tests run with the race detector.
const raceEnabled = false
