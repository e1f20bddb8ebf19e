package arn

import "testing"

func TestTaskDefinition(t *testing.T) {
	tests := []struct {
		in      string
		family  string
		rev     int32
		wantErr bool
	}{
		{"web", "web", 0, false},
		{"web:3", "web", 3, false},
		{"arn:aws:ecs:us-east-1:000000000000:task-definition/web:12", "web", 12, false},
		{"arn:aws:ecs:us-east-1:000000000000:task-definition/web", "", 0, true},
		{"arn:aws:ecs:us-east-1:000000000000:cluster/web", "", 0, true},
		{"web:0", "", 0, true},
		{"web:x", "", 0, true},
		{"web:99999999999", "", 0, true},
		{"arn:aws:s3:::bucket", "", 0, true},
	}
	for _, tt := range tests {
		f, r, err := TaskDefinition(tt.in)
		if (err != nil) != tt.wantErr || f != tt.family || r != tt.rev {
			t.Errorf("TaskDefinition(%q) = %q, %d, %v", tt.in, f, r, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	n := Namer{Region: "eu-west-1", Account: "123456789012"}
	a := n.TaskDefinition("web", 3)
	if a != "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3" {
		t.Fatal(a)
	}
	if f, r, err := TaskDefinition(a); f != "web" || r != 3 || err != nil {
		t.Fatal(f, r, err)
	}
	if name, err := ClusterName(n.Cluster("prod")); name != "prod" || err != nil {
		t.Fatal(name, err)
	}
	if name, err := ClusterName("prod"); name != "prod" || err != nil {
		t.Fatal(name, err)
	}
	if _, err := ClusterName(a); err == nil {
		t.Fatal("a task definition ARN was taken for a cluster")
	}
}

func TestID(t *testing.T) {
	n := Default
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"abc123", "abc123", false},
		{n.Task("default", "abc123"), "abc123", false},
		{"arn:aws:ecs:us-east-1:000000000000:task/abc123", "abc123", false},
		{n.Task("other", "abc123"), "", true},
		{n.ContainerInstance("default", "abc123"), "", true},
		{"", "", true},
		{"a/b", "", true},
	}
	for _, tt := range tests {
		got, err := ID(TypeTask, "default", tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ID(task, default, %q) = %q, %v", tt.in, got, err)
		}
	}
}
