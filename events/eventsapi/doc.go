// Package eventsapi is EventBridge's default event bus: one gRPC handler per
// operation (berth.v1.EventBridge), also served on the AWS front door as
// EventBridge's JSON 1.1 wire (AWSEvents.*), and the Dispatcher that
// delivers events to targets.
//
// Events go into berth's event log (the store's, where ECR's and S3's
// events go too). The Dispatcher, one goroutine owned by its Run, reads the
// log from a cursor kept in the store, matches the enabled rules (package
// events decides), and writes one delivery record per target in the same
// store write as the cursor's advance; it fires the rules' schedules the
// same way, storing the slot it fired. It then delivers each due record
// (Lambda through invoke.EventSource, ECS through RunTask in-process),
// deleting it once taken, retrying with back-off until the target's retry
// policy gives up, when the record becomes a dead letter. An event PutEvents
// accepted is in the log before the call returns, so it is delivered after a
// kill -9 of the control plane (at least once). An event keeps the
// X-Amzn-Trace-Id of the call that made it (PutEvents, S3's change), and its
// deliveries pass it to Lambda, whose recursive loop detection counts it
// (package events/lineage).
//
// TaskEvents, a second goroutine owned by its Run, watches the store's tasks
// and container instances and appends ECS's "ECS Task State Change" and
// "ECS Container Instance State Change" events to the log.
package eventsapi
