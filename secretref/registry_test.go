package secretref

import (
	"strings"
	"testing"
)

func TestParseRegistryCredentials(t *testing.T) {
	if c, err := ParseRegistryCredentials(`{"username":"u","password":"p"}`); err != nil || c != (RegistryCredentials{"u", "p"}) {
		t.Errorf("good value: %+v, %v", c, err)
	}
	for value, want := range map[string]string{
		`not json p4ss`:      "not a JSON object",
		`{"password":"p"}`:   "no username",
		`{"username":"u"}`:   "no password",
		`["u","p"]`:          "not a JSON object",
		`{"username":7}`:     "not a JSON object",
		`{"username":"",}`:   "not a JSON object",
		`{"user":"u","p":1}`: "no username",
	} {
		_, err := ParseRegistryCredentials(value)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", value, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "p4ss") {
			t.Errorf("%s: the error %q quotes the value", value, err)
		}
	}
}
