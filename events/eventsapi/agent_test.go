package eventsapi_test

import "github.com/berth/berth/agent"

func agentConfig() agent.Config { return agent.Config{} }
