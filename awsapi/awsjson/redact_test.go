package awsjson

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// A secret's value (a debug_redact field) is never quoted in a decoding
// error, whatever is wrong with it.
func TestRedactedValuesAreNotQuoted(t *testing.T) {
	for _, doc := range []string{
		`{"SecretId":"x","SecretBinary":"hunter2-not-base64!!"}`,
		`{"SecretId":"x","SecretString":1234567890}`,
		`{"SecretId":"x","SecretString":["hunter2"]}`,
	} {
		err := Unmarshal([]byte(doc), &berthv1.PutSecretValueRequest{})
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "1234567890") {
			t.Errorf("%s: %v", doc, err)
		}
	}
	if err := Unmarshal([]byte(`{"Name":"x","Value":1234567890}`), &berthv1.PutParameterRequest{}); err == nil || strings.Contains(err.Error(), "1234567890") {
		t.Errorf("parameter value: %v", err)
	}
	if err := Unmarshal([]byte(`{"SecretId":"x","SecretBinary":"aGk="}`), &berthv1.PutSecretValueRequest{}); err != nil {
		t.Errorf("base64: %v", err)
	}
}
