// Package inprocess runs berth agents inside another process: the agent that
// -dev starts on the local Docker (RunDevAgent), the hollow instances -dev's
// dashboard adds (Instances), and the Fargate pool's in-process provisioner
// (Pool: -dev, tests, bench/fargate), whose hosts are agents too.
//
// It is the one place where the control plane's binary links the agent. The
// control plane's own packages (controlplane/, ecs/, awsapi/, dashboard/,
// store/) never import agent/...: they see a pool host only through
// hostpool.Provisioner and an added instance only through
// controlplane.Config.AddInstance. internal/importrules checks that.
//
// Goroutines: each agent runs in a goroutine of its own, owned by the value
// that started it. A Pool's hosts run until Stop (one) or Close (all, and it
// waits for them); Instances' run until the context given to NewInstances
// ends, and Wait waits for them; RunDevAgent runs the agent in its caller's
// goroutine until its context ends.
package inprocess
