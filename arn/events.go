package arn

// EventBus is the ARN of an EventBridge event bus:
// arn:aws:events:REGION:ACCOUNT:event-bus/NAME.
func (n Namer) EventBus(name string) string {
	return "arn:aws:events:" + n.Region + ":" + n.Account + ":event-bus/" + name
}

// EventRule is the ARN of a rule of the default event bus:
// arn:aws:events:REGION:ACCOUNT:rule/NAME.
func (n Namer) EventRule(name string) string {
	return "arn:aws:events:" + n.Region + ":" + n.Account + ":rule/" + name
}

// Schedule is the ARN of an EventBridge Scheduler schedule:
// arn:aws:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME.
func (n Namer) Schedule(group, name string) string {
	return "arn:aws:scheduler:" + n.Region + ":" + n.Account + ":schedule/" + group + "/" + name
}

// ScheduleGroup is the ARN of a schedule group:
// arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME.
func (n Namer) ScheduleGroup(name string) string {
	return "arn:aws:scheduler:" + n.Region + ":" + n.Account + ":schedule-group/" + name
}

// LambdaFunctionPrefix precedes a function's name in its ARN:
// arn:aws:lambda:REGION:ACCOUNT:function:.
func (n Namer) LambdaFunctionPrefix() string {
	return "arn:aws:lambda:" + n.Region + ":" + n.Account + ":function:"
}
