// Package schedulerapi is EventBridge Scheduler: one gRPC handler per
// operation (berth.v1.Scheduler), also served on the AWS front door as
// Scheduler's REST-JSON wire (SigV4 service "scheduler"), and the Runner
// that fires schedules.
//
// The Runner, one goroutine owned by its Run, looks at its clock every
// Tick (and when a schedule changes): for each enabled schedule it asks
// package schedules for the latest due slot after the one it fired last,
// and stores that slot together with the target's delivery (queued on
// EventBridge's delivery queue, events/eventsapi, which invokes the Lambda
// function or runs the ECS task, with retries and dead letters) in one
// store write: each slot fires once across restarts, and the slots missed
// while berth was down fire once at start. A FLEXIBLE window delays the
// delivery by a fixed spread within the window; ActionAfterCompletion
// DELETE deletes a schedule in the write of its last slot.
package schedulerapi
