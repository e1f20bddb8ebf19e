package runtime

// LogOptions say which of a container's output Logs writes.
type LogOptions struct {
	// Follow keeps writing new output until the container exits.
	Follow bool
	// Tail limits the output to its last Tail lines; 0 is all of it.
	Tail int
}
