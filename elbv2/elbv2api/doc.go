// Package elbv2api is Elastic Load Balancing v2's operations: one gRPC
// handler per operation (berth.v1.ElasticLoadBalancingV2), also served on
// the AWS front door as ELB's query protocol (SigV4 service
// "elasticloadbalancing"). Its records are the store's documents in four
// collections (elbv2-loadbalancers, elbv2-targetgroups, elbv2-listeners,
// elbv2-rules), keyed by ARN so that a load balancer's listeners and a
// listener's rules list by prefix.
//
// Changes are serialized by one lock (ELB's uniqueness rules span records:
// names, ports, priorities) and each is handed to the Runtime, the
// listeners' proxy, as a whole Config. A listener's port is bound before
// the listener is stored, so a port that is taken fails CreateListener and
// changes nothing. The package starts no goroutines.
package elbv2api
