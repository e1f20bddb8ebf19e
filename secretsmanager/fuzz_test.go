package secretsmanager

import "testing"

// FuzzParseReference: a task definition's valueFrom and a request's SecretId
// parse without a panic, and a reference renders back to its parts.
func FuzzParseReference(f *testing.F) {
	arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbC123"
	for _, s := range []string{arn, arn + ":k::", arn + "::AWSPREVIOUS:", arn + ":k::id", "db", "arn:aws:secretsmanager:::secret:", "::::::::::"} {
		f.Add(s, `{"k":"v"}`)
	}
	f.Fuzz(func(t *testing.T, s, secret string) {
		ParseSecretID("SecretId", s, "arn:aws:secretsmanager:us-east-1:000000000000:secret:")
		r, err := ParseReference(s)
		if err == nil {
			again, err := ParseReference(r.String())
			if err != nil || again != r {
				t.Fatalf("%q: %+v, rendered %q, parsed again %+v %v", s, r, r.String(), again, err)
			}
		}
		JSONValue(secret, s)
	})
}
