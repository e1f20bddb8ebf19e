// Package lambdaapi is AWS Lambda's operations: one gRPC handler per
// operation (berth.v1.Lambda), also served on the AWS front door as
// Lambda's REST-JSON wire (/2015-03-31/functions/...). Handlers read the
// store, let package lambda decide, and write a function's record (one
// document in the collection lambda-functions: $LATEST, its published
// versions, aliases, policy, tags, concurrency, event invoke and URL
// configurations) guarded by the generation they read.
//
// A zip's bytes are kept as a file under the data dir named by CodeSha256
// (CodePath); the runner turns it into an image. Invoke runs
// RequestResponse through an invoke.Invoker; Event invocations are kept in
// the collection lambda-events, keyed in order of arrival, so that one
// acknowledged with 202 survives a kill -9. The server also implements
// invoke.EventSource for S3 and EventBridge.
//
// Goroutines: Run owns them all and returns when its context ends, after
// they stopped: the activator (Pending -> Active, update InProgress ->
// Successful, through the optional Prepare hook) and the event worker (at
// most Config.EventWorkers invocations at once, each tracked until it
// returns). The function URL server (URLHandler) is an http.Handler whose
// listener the caller owns.
package lambdaapi
