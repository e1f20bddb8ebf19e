// Package bearer checks "Bearer <token>" credentials, the one way every
// berth endpoint that needs a token (gRPC metadata, HTTP headers) reads
// them: the token compared in constant time.
package bearer

import (
	"crypto/subtle"
	"strings"
)

// Matches reports whether credentials ("Bearer <token>") carry want. An
// empty want matches nothing.
func Matches(credentials, want string) bool {
	got, ok := strings.CutPrefix(credentials, "Bearer ")
	return ok && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
