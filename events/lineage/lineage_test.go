package lineage

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/berth/berth/lambda/invoke"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		header string
		id     string
		count  int
	}{
		{"", "", 0},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", "", 0},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bb0a5:3", "a87bb0a5", 3},
		{"lineage=ab:16;Root=1-x", "ab", 16},
		{"Lineage=10:a87bb0a5:7", "10:a87bb0a5", 7},
		{"Lineage=ab:x", "", 0},
		{"Lineage=ab:-2", "", 0},
		{"Lineage=nocount", "", 0},
	} {
		id, n := Parse(c.header)
		if id != c.id || n != c.count {
			t.Errorf("Parse(%q) = %q, %d; want %q, %d", c.header, id, n, c.id, c.count)
		}
	}
}

func TestNext(t *testing.T) {
	h, id, n := Next("", "arn:aws:s3:::photos -> thumbs")
	if n != 1 || len(id) != 8 || h != "Lineage="+id+":1" {
		t.Fatalf("a new chain: %q %q %d", h, id, n)
	}
	h2, id2, n2 := Next("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage="+id+":1", "elsewhere")
	if id2 != id || n2 != 2 || h2 != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage="+id+":2" {
		t.Fatalf("the next hop: %q %q %d", h2, id2, n2)
	}
	// A root without lineage starts a chain and keeps the root.
	h3, _, n3 := Next("Root=1-5759e988-bd862e3fe1be46a994272793", "x")
	if n3 != 1 || !strings.HasPrefix(h3, "Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=") {
		t.Fatalf("a root: %q %d", h3, n3)
	}
}

type recorder struct {
	mu   sync.Mutex
	reqs []invoke.EventRequest
}

func (r *recorder) CheckPermission(context.Context, invoke.EventRequest) error { return nil }
func (r *recorder) InvokeEvent(_ context.Context, req invoke.EventRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return nil
}

// A loop of a function writing to the bucket that invokes it: the guard lets
// 16 invocations through, each counted one further, and stops the 17th with
// a log line naming the chain.
func TestGuardStopsALoopAfter16(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{}
	g := &Guard{Next: rec, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	trace := "" // the first write is a person's: no trace
	for i := 1; i <= 20; i++ {
		before := len(rec.reqs)
		err := g.InvokeEvent(ctx, invoke.EventRequest{Function: "thumbs", Principal: "s3.amazonaws.com",
			SourceArn: "arn:aws:s3:::photos", TraceHeader: trace})
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.reqs) == before {
			if i != 17 {
				t.Fatalf("invocation %d stopped; want the 17th", i)
			}
			break
		}
		got := rec.reqs[len(rec.reqs)-1]
		if _, n := Parse(got.TraceHeader); n != i {
			t.Fatalf("invocation %d carries count %d (%q)", i, n, got.TraceHeader)
		}
		// The function's SDK sends its invocation's header back to S3.
		trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;" + got.TraceHeader
	}
	if len(rec.reqs) != MaxInvocations || g.Stopped() != 1 {
		t.Fatalf("%d invocations, %d stopped; want %d and 1", len(rec.reqs), g.Stopped(), MaxInvocations)
	}
	line := logs.String()
	for _, want := range []string{"recursive loop stopped", "arn:aws:s3:::photos -> thumbs -> arn:aws:s3:::photos", "invocations=16"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
}

// Two independent events each start their own chain.
func TestGuardCountsChainsApart(t *testing.T) {
	rec := &recorder{}
	g := &Guard{Next: rec, Max: 2}
	for i := 0; i < 5; i++ {
		if err := g.InvokeEvent(context.Background(), invoke.EventRequest{Function: "f", SourceArn: "arn:aws:s3:::b"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.reqs) != 5 || g.Stopped() != 0 {
		t.Fatalf("%d invocations, %d stopped", len(rec.reqs), g.Stopped())
	}
}
