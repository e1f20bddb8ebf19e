package scheduler

import (
	"errors"
	"slices"
	"testing"
)

func TestParseStrategies(t *testing.T) {
	tests := []struct {
		json    string
		want    []Strategy
		wantErr string
	}{
		{json: `[{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"MEMORY"}]`,
			want: []Strategy{{StrategySpread, "attribute:ecs.availability-zone"}, {StrategyBinpack, "MEMORY"}}},
		{json: `[{"type":"binpack","field":"resources"},{"type":"random"}]`,
			want: []Strategy{{StrategyBinpack, FieldResources}, {StrategyRandom, ""}}},
		{json: `[]`, want: []Strategy{}},
		{json: `[{"type":"pack","field":"cpu"}]`,
			wantErr: `placement strategy 1: unknown placement strategy type "pack": want binpack, spread or random`},
		{json: `[{"type":"random"},{"type":"binpack","field":"disk"}]`,
			wantErr: `placement strategy 2: binpack field must be cpu, memory or resources, not "disk"`},
		{json: `[{"type":"spread","field":"attribute:"}]`,
			wantErr: `placement strategy 1: spread field must be instanceId, host or attribute:NAME, not "attribute:"`},
		{json: `[{"type":"random","field":"cpu"}]`, wantErr: `placement strategy 1: random takes no field, got "cpu"`},
		{json: `[{"type":"random"},{"type":"random"},{"type":"random"},{"type":"random"},{"type":"random"},{"type":"random"}]`,
			wantErr: "6 placement strategies: at most 5 are allowed"},
		{json: `{"type":"random"}`,
			wantErr: "placement strategies: json: cannot unmarshal object into Go value of type []scheduler.Strategy"},
	}
	for _, tt := range tests {
		got, err := ParseStrategies([]byte(tt.json))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidPlacement) {
				t.Errorf("%s: error %v, want %q", tt.json, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, %v; want %v", tt.json, got, err, tt.want)
		}
	}
}

func TestParseConstraints(t *testing.T) {
	tests := []struct {
		json    string
		wantErr string
	}{
		{json: `[{"type":"distinctInstance"},{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}]`},
		{json: `[{"type":"memberOf"}]`,
			wantErr: `placement constraint 1: memberOf needs an expression, such as "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"`},
		{json: `[{"type":"distinctInstance","expression":"attribute:x exists"}]`,
			wantErr: `placement constraint 1: distinctInstance takes no expression, got "attribute:x exists"`},
		{json: `[{"type":"distinctInstance"},{"type":"memberOf","expression":"attribute:x =="}]`,
			wantErr: `placement constraint 2: memberOf expression "attribute:x ==": column 15: expected a value after "==" but found end of expression`},
		{json: `[{"type":"sameZone"}]`,
			wantErr: `placement constraint 1: unknown placement constraint type "sameZone": want distinctInstance or memberOf`},
		{json: `[` + repeat(`{"type":"distinctInstance"}`, 11) + `]`,
			wantErr: "11 placement constraints: at most 10 are allowed"},
	}
	for _, tt := range tests {
		got, err := ParseConstraints([]byte(tt.json))
		if tt.wantErr == "" {
			if err != nil || got[1].parsed == nil {
				t.Errorf("%s: %v; want parsed constraints", tt.json, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidPlacement) {
			t.Errorf("%s: error %v, want %q", tt.json, err, tt.wantErr)
		}
	}
}

func repeat(item string, n int) string {
	out := item
	for range n - 1 {
		out += "," + item
	}
	return out
}

func TestPlaceRejectsBadRequests(t *testing.T) {
	snap := NewSnapshot(randomCluster(newRand(1), 3))
	tests := []struct {
		name string
		r    Request
		want string
	}{
		{"negative count", Request{Count: -1}, "count must not be negative, got -1"},
		{"negative memory", Request{Count: 1, Resources: Resources{Memory: -5}},
			"task resources must not be negative, got cpu 0, memory -5, gpu 0"},
		{"bad strategy", Request{Count: 1, Strategies: []Strategy{{Type: "spread", Field: "az"}}},
			`placement strategy 1: spread field must be instanceId, host or attribute:NAME, not "az"`},
		{"bad constraint", Request{Count: 1, Constraints: []Constraint{{Type: ConstraintMemberOf, Expression: "x"}}},
			`placement constraint 1: memberOf expression "x": column 1: unknown subject "x"; want agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount or task:group`},
	}
	for _, tt := range tests {
		_, err := snap.Place(tt.r)
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalidPlacement) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
