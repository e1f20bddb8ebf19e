//go:build race

package chaos

// RaceEnabled says this binary was built with the race detector; the control
// plane is then built with it too.
const RaceEnabled = true
