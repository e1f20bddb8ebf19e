package runtime

import (
	"errors"
	"maps"
	"testing"
)

func TestParsePullPolicy(t *testing.T) {
	for in, want := range map[string]PullPolicy{
		"": PullDefault, "default": PullDefault, "always": PullAlways,
		"once": PullOnce, "prefer-cached": PullPreferCached,
	} {
		if got, err := ParsePullPolicy(in); got != want || err != nil {
			t.Errorf("ParsePullPolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePullPolicy("sometimes"); err == nil {
		t.Error("ParsePullPolicy(sometimes) succeeded")
	}
}

// TestLabelsOwnerWins proves a dockerLabel cannot forge the berth labels the agent
// re-adopts containers by.
func TestLabelsOwnerWins(t *testing.T) {
	spec := ContainerSpec{
		Owner:        Owner{TaskARN: "task/1", ContainerName: "web"},
		DockerLabels: map[string]string{LabelTaskARN: "forged", "team": "a"},
	}
	want := map[string]string{LabelTaskARN: "task/1", LabelContainerName: "web", "team": "a"}
	if got := spec.Labels(); !maps.Equal(got, want) {
		t.Errorf("Labels() = %v, want %v", got, want)
	}
}

func TestMatchLabels(t *testing.T) {
	have := map[string]string{"a": "1", "b": "2"}
	tests := []struct {
		want  map[string]string
		match bool
	}{
		{nil, true},
		{map[string]string{"a": "1"}, true},
		{map[string]string{"a": ""}, true},
		{map[string]string{"a": "2"}, false},
		{map[string]string{"c": ""}, false},
	}
	for _, tt := range tests {
		if got := MatchLabels(have, tt.want); got != tt.match {
			t.Errorf("MatchLabels(%v, %v) = %v", have, tt.want, got)
		}
	}
}

// TestCannotPullReadsAsECSReason proves the error text is ECS's stoppedReason.
func TestCannotPullReadsAsECSReason(t *testing.T) {
	cause := errors.New("manifest unknown")
	err := CannotPull("web:1", cause)
	const want = `CannotPullContainerError: image "web:1": manifest unknown`
	if err.Error() != want || !errors.Is(err, ErrCannotPull) || !errors.Is(err, cause) {
		t.Errorf("CannotPull = %q, want %q wrapping both", err, want)
	}
}

// TestPullDecision is ECS_IMAGE_PULL_BEHAVIOR's table: whether a pull goes
// to the registry, and whether its failure falls back to a cached image.
func TestPullDecision(t *testing.T) {
	for _, c := range []struct {
		p                PullPolicy
		local            bool
		pulls, fallsBack bool
	}{
		{PullDefault, false, true, false},
		{PullDefault, true, true, true},
		{"", true, true, true},
		{PullAlways, false, true, false},
		{PullAlways, true, true, false},
		{PullOnce, false, true, false},
		{PullOnce, true, false, false},
		{PullPreferCached, false, true, false},
		{PullPreferCached, true, false, false},
	} {
		if got := c.p.Pulls(c.local); got != c.pulls {
			t.Errorf("%q.Pulls(local %v) = %v, want %v", c.p, c.local, got, c.pulls)
		}
		if got := c.p.FallsBack(c.local); got != c.fallsBack {
			t.Errorf("%q.FallsBack(local %v) = %v, want %v", c.p, c.local, got, c.fallsBack)
		}
	}
}
