package main

import (
	"flag"
	"time"
)

var autoscalingEvery = flag.Duration("autoscaling-period", 0, "how often Application Auto Scaling evaluates its policies (default 1m, the period of target tracking's alarms; 10s with -dev)")

// autoscalingPeriod is the evaluation period: the flag's, else 10 s in -dev
// (so that a demo scales within a minute or two), else the default.
func autoscalingPeriod(dev bool) time.Duration {
	if *autoscalingEvery == 0 && dev {
		return 10 * time.Second
	}
	return *autoscalingEvery
}
