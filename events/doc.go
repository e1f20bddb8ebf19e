// Package events is EventBridge's pure decisions: event patterns (parsed,
// checked with the path of what is wrong, and matched against events as
// EventBridge documents them), the input a target receives (Input,
// InputPath, InputTransformer), and the rules' and targets' checks. It does
// no I/O and starts no goroutines; package events/eventsapi serves the API
// and runs the dispatcher around it.
package events
