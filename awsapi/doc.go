// Package awsapi is berth's one AWS front door: every AWS service berth
// serves is reached through one HTTP handler on the control plane's HTTP
// port, which does for all of them what none of them should do alone.
//
// For each request the FrontDoor, in this order:
//
//  1. tells the wire protocol from the request itself: Smithy RPC v2 CBOR by
//     the smithy-protocol header and /service/S/operation/O; AWS JSON 1.0 or
//     1.1 by X-Amz-Target; the query protocol by a form body or query string
//     with Action=; otherwise REST (REST-JSON or REST-XML, the service's own);
//  2. finds the service (by the JSON target prefix, the CBOR service name, a
//     REST route, or else the SigV4 credential scope's service name) and the
//     operation (by target, Action, path, or method and path pattern);
//  3. checks the SigV4 signature once, in every form AWS clients sign with
//     (Authorization header; presigned query; S3's UNSIGNED-PAYLOAD and
//     aws-chunked streaming payload hashes), and that its scope names the
//     service the request is for;
//  4. decodes the request strictly into the operation's request message,
//     naming the member path of any error (awsjson does the JSON; the other
//     protocols are turned into the same JSON document first);
//  5. calls the operation through the same unary interceptor chain gRPC
//     callers go through (recovery, metrics, logging, auth, error mapping), so
//     each operation has one implementation: the gRPC handler;
//  6. renders the response (with the service's Render rule: the members it
//     writes when empty or zero), or the error in the protocol's own shape with the
//     service's own exception name (JSON __type; REST-JSON x-amzn-ErrorType and
//     a body; S3's <Error>; the query protocol's <ErrorResponse>; CBOR's
//     __type).
//
// A service registers a Service: its signing name, the protocols it speaks,
// its gRPC service (descriptor and implementation, whose method names are the
// AWS operation names), REST routes where it has them, and an error table
// that names its exceptions. A service whose wire a library already serves
// (S3's REST-XML) registers a Handler instead, which gets the request after
// the signature check.
//
// awsapi starts no goroutines and must not import any service: services
// import it.
package awsapi
