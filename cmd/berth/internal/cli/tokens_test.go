package cli_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TestTokenCommands: berth token create --scope deployer --service web
// --family web makes a token that may update web and nothing else; list
// shows it without its secret; revoke ends it.
func TestTokenCommands(t *testing.T) {
	e := newEnv(t)
	e.ok(t, "register-task-definition", "--family", "web", "--container-definitions", `[{"name": "app", "image": "busybox", "memory": 64}]`)
	e.ok(t, "create-service", "--service-name", "web", "--task-definition", "web", "--desired-count", "0")

	var created berthv1.CreateAccessTokenResponse
	e.decode(t, &created, "token", "create", "--scope", "deployer", "--service", "web", "--family", "web", "--description", "CI")
	if !strings.HasPrefix(created.GetToken(), "berth-t1-") || created.GetAccessKeyId() != "ASIA"+created.GetAccessToken().GetId() || created.GetSecretAccessKey() == "" {
		t.Fatalf("token create: %v", &created)
	}
	e.berth("token", "create", "--scope", "root").fails(t, 1, "scope")
	e.berth("token", "create").fails(t, 2, "--scope")

	deployer := &env{Cluster: e.Cluster, vars: map[string]string{"BERTH_ENDPOINT": e.CP.GRPCAddr(), "BERTH_TOKEN": created.GetToken()}}
	deployer.ok(t, "update-service", "--service", "web", "--desired-count", "0")
	deployer.berth("list-clusters").fails(t, 1, "scope deployer")
	deployer.berth("token", "list").fails(t, 1, "scope deployer")

	var list berthv1.ListAccessTokensResponse
	e.decode(t, &list, "token", "list")
	if len(list.GetAccessTokens()) != 1 || !proto.Equal(list.GetAccessTokens()[0], created.GetAccessToken()) {
		t.Fatalf("token list: %v", &list)
	}
	if out := e.ok(t, "token", "list"); strings.Contains(out, created.GetToken()) {
		t.Fatalf("token list shows the token: %s", out)
	}
	e.ok(t, "token", "revoke", created.GetAccessToken().GetId())
	deployer.berth("update-service", "--service", "web", "--desired-count", "0").fails(t, 1, "invalid token")
}
