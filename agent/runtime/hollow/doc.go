// Package hollow implements runtime.Runtime with simulated containers: no processes,
// no images, no Docker. It serves scale tests (a thousand container instances with tens
// of tasks each in one process), demos on machines without Docker, and, through its
// fault hooks and counters, the task engine's unit tests.
//
// A hollow container is a record and at most a few timers; nothing runs. It behaves as
// its command says, in the words of berth's test program (internal/testimage/testapp),
// so the same ContainerSpec means the same thing to both runtimes. The command is the
// entryPoint followed by the command; a first word whose base name is "testapp" is
// skipped.
//
//	sleep                  runs until stopped (so does any command not listed here)
//	sleep DURATION         exits 0 after DURATION
//	exit CODE [DURATION]   exits with CODE, at once or after DURATION
//	alloc SIZE             is OOM-killed at start (exit 137, OOMKilled) if SIZE (100M,
//	                       1G) exceeds the Memory limit, else runs until stopped
//	trap-sigterm DURATION  on Stop exits 0 DURATION after SIGTERM, or is killed (137)
//	                       when the stop timeout is shorter
//
// Without trap-sigterm a container dies of SIGTERM at once (exit 143).
//
// Output (Logs): a container prints on stdout what testapp prints for its command
// ("allocated N bytes", "waiting for SIGTERM" and "SIGTERM received", and for
// "lines N [INTERVAL]" the lines "line 1" to "line N", one every INTERVAL); a command
// testapp does not know, or none (a real image's own), prints "hollow container NAME
// started". The last 1,000 lines are kept. A followed container's output ends when it
// exits or is removed.
//
// A health check reports starting until its first probe, one Interval (Docker's default,
// 30s, if 0) after start. A probe whose command is "exit CODE" fails when CODE is not 0;
// any other probe passes. Retries failing probes in a row (default 3) make the container
// unhealthy; a passing probe makes it healthy.
//
// Host ports: a port mapping with HostPort 0 gets a free port from Config.PortRange;
// a fixed HostPort already bound fails Start, as Docker does ("port is already
// allocated"). Ports are released when the container exits. Host network mode binds
// the container ports themselves; container:<id> and none bind nothing.
//
// Mounts are recorded with the container's spec and otherwise ignored: nothing runs
// that could read them, and no host path is touched.
//
// Images: Pull "fetches" any image from a simulated registry after Config.PullLatency,
// except an image named in FailPull. Create needs the image present: pulled, or given
// in Config.Images.
//
// Faults and observation for tests: FailPull, FailNext (the next call of an operation
// fails), OOMKill, Exit, SetHealth, and Counters.
package hollow
