// Package lambda is AWS Lambda's rules, as pure functions with no I/O and
// no goroutines: function names, ARNs and qualifiers; the checks and
// defaults of CreateFunction and the updates; zip packages; versions and
// aliases (publishing, routing weights); resource-based policies (the
// statements AddPermission writes and the check another service's invoke
// passes); reserved concurrency against the account's limit; the Event
// queue's retry decisions; and Lambda's exception names and texts.
//
// Package lambda/lambdaapi does the I/O: the operations on gRPC and the
// front door, the store, the event worker. Package lambda/invoke is the
// contract with the runner of execution environments.
package lambda
