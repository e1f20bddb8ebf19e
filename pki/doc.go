// Package pki is berth's cluster certificate authority: the CA that signs
// the agents' client certificates and the control plane's own serving
// certificate (crypto/x509, ECDSA P-256), the join token that lets an agent
// pin that CA on first contact (BERTH-1-<CA digest>-<secret>, as Swarm's
// SWMTKN-1), and the identity a client certificate names (a container
// instance of a cluster).
//
// Everything here is pure issuing and verifying, apart from LoadOrCreateCA
// and the agent's Store/LoadAgent, which read and write files (keys 0600).
// It starts no goroutines.
package pki
