package runtime

import (
	"context"
	"io"
)

// Execer is a Runtime that can run a command in a running container (ECS
// Exec). Runtimes that cannot (hollow containers run no processes) leave it
// out or answer every call with an error that says why.
type Execer interface {
	// Exec runs spec's command in the running container id, on the caller's
	// goroutine, and returns its exit code once it has exited and all of its
	// output is written. When ctx ends first, Exec ends the command and
	// returns ctx.Err(). Exec reads io.Stdin and io.Resize only until it
	// returns.
	Exec(ctx context.Context, id string, spec ExecSpec, io ExecIO) (exitCode int, err error)
}

// ExecSpec is a command to run in a container.
type ExecSpec struct {
	// Command is the program and its arguments, run without a shell.
	Command []string
	// Tty runs the command on a terminal: its output is then one stream,
	// written to Stdout.
	Tty bool
	// Stdin sends the command ExecIO.Stdin.
	Stdin bool
	// Size is the terminal's size at the start (with Tty; zero: the
	// runtime's default).
	Size TerminalSize
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Rows, Cols uint
}

// ExecIO is where an exec's input comes from and its output goes.
type ExecIO struct {
	// Stdin carries the command's input chunk by chunk; closing it ends the
	// input (the command reads end of file).
	Stdin <-chan []byte
	// Resize carries the terminal's new sizes (with Tty).
	Resize <-chan TerminalSize
	// Stdout and Stderr receive the command's output.
	Stdout, Stderr io.Writer
}
