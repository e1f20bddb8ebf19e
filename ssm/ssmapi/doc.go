// Package ssmapi is SSM Parameter Store's operations: one gRPC handler per
// operation (berth.v1.SSM), also served on the AWS front door as SSM's JSON
// 1.1 wire (AmazonSSM.*). Handlers read the store, let package ssm decide,
// seal and open values with the data dir's key (package atrest), and write
// through store commands that name the generation they read, retrying when
// another change came first.
//
// Values are sealed before they reach the store and opened only to answer a
// Get with WithDecryption (or a String / StringList, which SSM always
// returns as is); no error or log line of this package carries a value.
// Resolve is the internal API the agent's secrets build on.
package ssmapi
