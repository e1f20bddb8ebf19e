package arn

import "testing"

func TestTaskSetID(t *testing.T) {
	a := Default.TaskSet("prod", "web", "ecs-svc/1234567890123456789")
	if a != "arn:aws:ecs:us-east-1:000000000000:task-set/prod/web/ecs-svc/1234567890123456789" {
		t.Fatalf("ARN %q", a)
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{a, "ecs-svc/1234567890123456789", true},
		{"ecs-svc/1234567890123456789", "ecs-svc/1234567890123456789", true},
		{"", "", false},
		{"arn:aws:ecs:us-east-1:000000000000:task-set/prod/api/ecs-svc/1", "", false},
		{"arn:aws:ecs:us-east-1:000000000000:task-set/dev/web/ecs-svc/1", "", false},
		{"arn:aws:ecs:us-east-1:000000000000:service/prod/web", "", false},
		{"arn:aws:ecs:us-east-1:000000000000:task-set/prod/web", "", false},
	} {
		got, err := TaskSetID("prod", "web", c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("TaskSetID(%q) = %q, %v; want %q (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
