package events

import "testing"

// TestTargetInput: Input, InputPath and InputTransformer as EventBridge's
// "Transforming target input" page shows them.
func TestTargetInput(t *testing.T) {
	ctx := Context{RuleARN: "arn:aws:events:us-east-1:000000000000:rule/r", RuleName: "r", IngestionTime: "2017-12-22T18:43:48Z"}
	cases := []struct {
		name string
		tr   Transform
		want string
	}{
		{"whole event", Transform{}, ec2Event},
		{"constant", Transform{Input: `{"a":1}`}, `{"a":1}`},
		{"path", Transform{InputPath: "$.detail.state"}, `"terminated"`},
		{"path to an object", Transform{InputPath: "$.detail.nested.a"}, `{"b":"deep"}`},
		{"path by index", Transform{InputPath: "$.resources[0]"}, `"arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"`},
		{"missing path", Transform{InputPath: "$.detail.none"}, `null`},
		{"template as JSON", Transform{HasTransformer: true,
			InputPathsMap: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state", "tags": "$.detail.tags"},
			InputTemplate: `{"instance": <instance>, "state": <state>, "tags": <tags>, "rule": "<aws.events.rule-name>"}`},
			`{"instance": "i-1234567890abcdef0", "state": "terminated", "tags": ["blue","green"], "rule": "r"}`},
		{"template as a string", Transform{HasTransformer: true,
			InputPathsMap: map[string]string{"instance": "$.detail.instance-id", "state": "$.detail.state"},
			InputTemplate: `"<instance> is in state <state>"`},
			`"i-1234567890abcdef0 is in state terminated"`},
		{"missing value", Transform{HasTransformer: true,
			InputPathsMap: map[string]string{"x": "$.detail.none"},
			InputTemplate: `{"x": <x>, "s": "<x>"}`},
			`{"x": null, "s": ""}`},
		{"number in a string", Transform{HasTransformer: true,
			InputPathsMap: map[string]string{"n": "$.detail.c-count"},
			InputTemplate: `"count <n>"`},
			`"count 5"`},
	}
	for _, c := range cases {
		got, err := TargetInput(c.tr, []byte(ec2Event), ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	ok := TargetSpec{ID: "t1", ARN: "arn:aws:lambda:us-east-1:000000000000:function:f", RetryAttempts: -1, MaxAgeSeconds: -1, TaskCount: -1}
	if err := CheckTarget(ok); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		mod   func(*TargetSpec)
		field string
	}{
		{func(s *TargetSpec) { s.ID = "bad id" }, "Id"},
		{func(s *TargetSpec) { s.ARN = "" }, "Arn"},
		{func(s *TargetSpec) { s.Transform = Transform{Input: "{", InputPath: "$"} }, "Input"},
		{func(s *TargetSpec) { s.Transform = Transform{Input: "{"} }, "Input"},
		{func(s *TargetSpec) { s.Transform = Transform{InputPath: "detail"} }, "InputPath"},
		{func(s *TargetSpec) {
			s.Transform = Transform{HasTransformer: true, InputPathsMap: map[string]string{"aws.x": "$"}, InputTemplate: "x"}
		}, "InputTransformer.InputPathsMap.aws.x"},
		{func(s *TargetSpec) { s.RetryAttempts = 186 }, "RetryPolicy.MaximumRetryAttempts"},
		{func(s *TargetSpec) { s.MaxAgeSeconds = 59 }, "RetryPolicy.MaximumEventAgeInSeconds"},
		{func(s *TargetSpec) { s.TaskCount = 0 }, "EcsParameters.TaskCount"},
	}
	for i, c := range cases {
		s := ok
		c.mod(&s)
		err := CheckTarget(s)
		ce, isCheck := err.(*CheckError)
		if !isCheck || ce.Field != c.field {
			t.Errorf("case %d: err %v, want field %s", i, err, c.field)
		}
	}
}

func TestCheckEntry(t *testing.T) {
	if e := CheckEntry("my.app", "Thing", `{"a":1}`); e != nil {
		t.Fatal(e)
	}
	for _, c := range []struct{ s, dt, d, code string }{
		{"", "x", "{}", "InvalidArgument"},
		{"s", "", "{}", "InvalidArgument"},
		{"s", "x", "", "InvalidArgument"},
		{"s", "x", "[1]", "MalformedDetail"},
		{"s", "x", "{", "MalformedDetail"},
	} {
		if e := CheckEntry(c.s, c.dt, c.d); e == nil || e.Code != c.code {
			t.Errorf("%+v: %v", c, e)
		}
	}
}
