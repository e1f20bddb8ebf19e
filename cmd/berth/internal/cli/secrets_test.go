package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Parameters and secrets through berth ssm and berth secretsmanager, named
// and flagged as the aws CLI's, and the key's rotation.
func TestSSMAndSecretsManagerCommands(t *testing.T) {
	e := newEnv(t)
	e.ok(t, "ssm", "put-parameter", "--name", "/app/db", "--type", "SecureString", "--value", "pw")
	e.ok(t, "ssm", "put-parameter", "--name", "/app/hosts", "--type", "StringList", "--value", "a,b")
	var got berthv1.GetParameterResponse
	e.decode(t, &got, "ssm", "get-parameter", "--name", "/app/db", "--with-decryption")
	if got.Parameter.GetValue() != "pw" || got.Parameter.GetVersion() != 1 {
		t.Fatalf("get-parameter: %v", &got)
	}
	var many berthv1.GetParametersResponse
	e.decode(t, &many, "ssm", "get-parameters", "--names", "/app/hosts", "/nope")
	if len(many.Parameters) != 1 || strings.Join(many.InvalidParameters, ",") != "/nope" {
		t.Fatalf("get-parameters: %v", &many)
	}
	if r := e.berth("ssm", "put-parameter", "--name", "/app/x", "--type", "StringList", "--value", "a,,b"); r.code != 1 || !strings.Contains(r.stderr, "empty item") {
		t.Fatalf("an empty StringList item: %+v", r)
	}
	if r := e.berth("ssm", "get-parameter"); r.code != 2 || !strings.Contains(r.stderr, "--name") {
		t.Fatalf("without --name: %+v", r)
	}

	file := filepath.Join(t.TempDir(), "key.bin")
	if err := os.WriteFile(file, []byte{0, 1, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	var created berthv1.CreateSecretResponse
	e.decode(t, &created, "secretsmanager", "create-secret", "--name", "tls", "--secret-binary", "fileb://"+file)
	e.ok(t, "secretsmanager", "create-secret", "--name", "db", "--secret-string", `{"password":"pw"}`)
	var val berthv1.GetSecretValueResponse
	e.decode(t, &val, "secretsmanager", "get-secret-value", "--secret-id", created.Arn)
	if string(val.SecretBinary) != "\x00\x01\x02" {
		t.Fatalf("get-secret-value: %v", &val)
	}
	var list berthv1.ListSecretsResponse
	e.decode(t, &list, "secretsmanager", "list-secrets", "--filters", `{"Key":"name","Values":["db"]}`)
	if len(list.SecretList) != 1 || list.SecretList[0].Name != "db" {
		t.Fatalf("list-secrets: %v", &list)
	}

	var rot berthv1.RotateEncryptionKeyResponse
	e.decode(t, &rot, "rotate-encryption-key")
	if rot.KeyId != 2 || rot.Reencrypted != 4 {
		t.Fatalf("rotate-encryption-key: %v", &rot)
	}
	e.decode(t, &got, "ssm", "get-parameter", "--name", "/app/db", "--with-decryption")
	if got.Parameter.GetValue() != "pw" {
		t.Fatalf("after rotation: %v", &got)
	}
}
