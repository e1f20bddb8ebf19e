package cli_test

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// berth events prints the bus's newest events, one EventBridge envelope a
// line.
func TestEventsTail(t *testing.T) {
	e := newEnv(t)
	eb := berthv1.NewEventBridgeClient(e.Dial(t))
	for _, n := range []string{"1", "2", "3"} {
		if _, err := eb.PutEvents(e.Ctx, &berthv1.PutEventsRequest{Entries: []*berthv1.PutEventsRequestEntry{
			{Source: "my.app", DetailType: "Thing Happened", Detail: `{"n":` + n + `}`}}}); err != nil {
			t.Fatal(err)
		}
	}
	out := e.ok(t, "events", "--tail", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"detail":{"n":2}`) || !strings.Contains(lines[1], `"detail-type":"Thing Happened"`) ||
		!strings.Contains(lines[1], `"source":"my.app"`) {
		t.Fatalf("berth events:\n%s", out)
	}
}
