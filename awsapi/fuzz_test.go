package awsapi

import (
	"errors"
	"net/url"
	"testing"

	"github.com/fxamacker/cbor/v2"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Every decoder of outside input answers any input with a result or an
// error of its own (a field error or a serialization fault), never a panic.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var fe *apierr.Error
	var fl *fault
	if err != nil && !errors.As(err, &fe) && !errors.As(err, &fl) {
		t.Fatalf("an error of no class: %T %v", err, err)
	}
}

func FuzzQueryDocument(f *testing.F) {
	for _, s := range []string{"Action=Echo&taskDefinition=web&count=2",
		"tags.member.1.key=a&tags.member.1.value=b&tags.member.2.key=c",
		"overrides.containerOverrides.member.1.name=app&overrides.containerOverrides.member.1.cpu=12",
		"tags.member.0.key=a", "count=x", "placementStrategy.member.1.type=spread&placementStrategy.member.1.field=attribute:ecs.availability-zone",
		"overrides.containerOverrides.member.1.environment.member.1.name=A", "tags=", "a.b.c.d=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in := &berthv1.RunTaskRequest{}
		doc, err := queryDocument(form, in)
		checkDecodeError(t, err)
		if err == nil {
			checkDecodeError(t, unmarshalStrict(doc, in))
		}
	})
}

func FuzzCBORDocument(f *testing.F) {
	for _, v := range []any{
		map[string]any{"taskDefinition": "web", "count": 2, "tags": []any{map[string]any{"key": "k"}}},
		map[string]any{"count": "many"}, []any{1, 2}, map[string]any{"overrides": map[string]any{"cpu": []byte{1}}},
		cbor.Tag{Number: 1, Content: 1.5},
	} {
		b, _ := cbor.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in := &berthv1.RunTaskRequest{}
		doc, err := cborToJSON(body)
		checkDecodeError(t, err)
		if err == nil {
			checkDecodeError(t, unmarshalStrict(doc, in))
		}
	})
}
