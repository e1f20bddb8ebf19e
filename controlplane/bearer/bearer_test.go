package bearer

import "testing"

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		credentials, want string
		ok                bool
	}{
		{"Bearer s3cret", "s3cret", true},
		{"Bearer s3cret", "other", false},
		{"s3cret", "s3cret", false},
		{"bearer s3cret", "s3cret", false},
		{"Bearer ", "", false},
		{"", "", false},
		{"Bearer s3cret ", "s3cret", false},
	} {
		if got := Matches(c.credentials, c.want); got != c.ok {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.credentials, c.want, got, c.ok)
		}
	}
}
