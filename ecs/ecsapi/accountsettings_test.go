package ecsapi

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

const (
	root = "arn:aws:iam::000000000000:root"
	ana  = "arn:aws:iam::000000000000:user/ana"
)

func settingsOf(list []*berthv1.Setting) map[string]string {
	m := map[string]string{}
	for _, x := range list {
		m[x.Name] = x.Value + " " + x.PrincipalArn + " " + x.Type
	}
	return m
}

func TestAccountSettings(t *testing.T) {
	s := newServer(t)
	list := func(req *berthv1.ListAccountSettingsRequest) map[string]string {
		t.Helper()
		res, err := s.ListAccountSettings(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return settingsOf(res.Settings)
	}
	// Nothing set: no settings of its own; effective ones are ECS's defaults.
	if got := list(&berthv1.ListAccountSettingsRequest{}); len(got) != 0 {
		t.Fatalf("settings before any is set: %v", got)
	}
	eff := func(principal string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for token := ""; ; {
			res, err := s.ListAccountSettings(ctx, &berthv1.ListAccountSettingsRequest{EffectiveSettings: true, PrincipalArn: principal, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range settingsOf(res.Settings) {
				out[k] = v
			}
			if token = res.NextToken; token == "" {
				return out
			}
		}
	}
	got := eff("")
	if len(got) != len(accountSettings) || got["serviceLongArnFormat"] != "enabled "+root+" user" ||
		got["containerInsights"] != "disabled "+root+" user" || got["fargateTaskRetirementWaitPeriod"] != "7 "+root+" user" ||
		got["guardDutyActivate"] != "disabled "+root+" aws_managed" {
		t.Fatalf("ECS's defaults: %v", got)
	}

	// The account default applies to a user without a setting of its own;
	// the user's own wins.
	if res, err := s.PutAccountSettingDefault(ctx, &berthv1.PutAccountSettingDefaultRequest{Name: "containerInsights", Value: "enhanced"}); err != nil || res.Setting.PrincipalArn != root {
		t.Fatalf("put default: %v, %v", res, err)
	}
	if _, err := s.PutAccountSetting(ctx, &berthv1.PutAccountSettingRequest{Name: "awsvpcTrunking", Value: "enabled", PrincipalArn: ana}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutAccountSettingDefault(ctx, &berthv1.PutAccountSettingDefaultRequest{Name: "fargateTaskRetirementWaitPeriod", Value: "14"}); err != nil {
		t.Fatal(err)
	}
	got = eff(ana)
	if got["containerInsights"] != "enhanced "+ana+" user" || got["awsvpcTrunking"] != "enabled "+ana+" user" ||
		got["fargateTaskRetirementWaitPeriod"] != "14 "+ana+" user" || got["dualStackIPv6"] != "disabled "+ana+" user" {
		t.Fatalf("ana's effective settings: %v", got)
	}
	if got := list(&berthv1.ListAccountSettingsRequest{PrincipalArn: ana}); len(got) != 1 {
		t.Fatalf("ana's own settings: %v", got)
	}
	if got := list(&berthv1.ListAccountSettingsRequest{Name: "containerInsights", Value: "enhanced", EffectiveSettings: true}); len(got) != 1 {
		t.Fatalf("filtered by name and value: %v", got)
	}
	if got := list(&berthv1.ListAccountSettingsRequest{Name: "containerInsights", Value: "enabled", EffectiveSettings: true}); len(got) != 0 {
		t.Fatalf("filtered by another value: %v", got)
	}
	res, err := s.ListAccountSettings(ctx, &berthv1.ListAccountSettingsRequest{EffectiveSettings: true, MaxResults: 3})
	if err != nil || len(res.Settings) != 3 || res.NextToken == "" || res.Settings[0].Name != "serviceLongArnFormat" {
		t.Fatalf("first page: %v, %v", res, err)
	}

	// Deleting ana's setting brings back the default; deleting the default
	// brings back ECS's.
	del, err := s.DeleteAccountSetting(ctx, &berthv1.DeleteAccountSettingRequest{Name: "awsvpcTrunking", PrincipalArn: ana})
	if err != nil || del.Setting.Value != "enabled" {
		t.Fatalf("delete: %v, %v", del, err)
	}
	if _, err := s.DeleteAccountSetting(ctx, &berthv1.DeleteAccountSettingRequest{Name: "containerInsights"}); err != nil {
		t.Fatal(err)
	}
	got = eff(ana)
	if got["awsvpcTrunking"] != "disabled "+ana+" user" || got["containerInsights"] != "disabled "+ana+" user" {
		t.Fatalf("after the deletes: %v", got)
	}
}

func TestAccountSettingsBadInput(t *testing.T) {
	s := newServer(t)
	put := func(name, value, principal string) func() error {
		return func() error {
			_, err := s.PutAccountSetting(ctx, &berthv1.PutAccountSettingRequest{Name: name, Value: value, PrincipalArn: principal})
			return err
		}
	}
	rejections(t, s, []rejection{
		{"unknown setting name", put("longArns", "enabled", ""), ecserr.InvalidArgument, `name: "longArns" is not an account setting`},
		{"no name", put("", "enabled", ""), ecserr.InvalidArgument, "name: is required"},
		{"no value", put("containerInsights", "", ""), ecserr.InvalidArgument, "value: is required"},
		{"bad value", put("containerInsights", "on", ""), ecserr.InvalidArgument, `value: "on" is not a value of containerInsights: one of enabled, disabled, enhanced`},
		{"bad wait period", put("fargateTaskRetirementWaitPeriod", "3", ""), ecserr.InvalidArgument, "one of 0, 7, 14"},
		{"on/off setting", put("tagResourceAuthorization", "enabled", ""), ecserr.InvalidArgument, "one of on, off"},
		{"wait period for a user", put("fargateTaskRetirementWaitPeriod", "0", ana), ecserr.InvalidArgument, "principalArn: fargateTaskRetirementWaitPeriod can only be set for the root user"},
		{"AWS-managed setting", put("guardDutyActivate", "enabled", ""), ecserr.InvalidArgument, "name: guardDutyActivate is managed by AWS"},
		{"malformed principal", put("containerInsights", "enabled", "ana"), ecserr.InvalidArgument, `principalArn: "ana" is not the ARN`},
		{"another account's principal", put("containerInsights", "enabled", "arn:aws:iam::123456789012:user/ana"), ecserr.InvalidArgument, "not a principal of account 000000000000"},
		{"default with a bad value", func() error {
			_, err := s.PutAccountSettingDefault(ctx, &berthv1.PutAccountSettingDefaultRequest{Name: "awsvpcTrunking", Value: "yes"})
			return err
		}, ecserr.InvalidArgument, "value:"},
		{"delete an unknown setting", func() error {
			_, err := s.DeleteAccountSetting(ctx, &berthv1.DeleteAccountSettingRequest{Name: "nope"})
			return err
		}, ecserr.InvalidArgument, "name:"},
		{"list by value without a name", func() error {
			_, err := s.ListAccountSettings(ctx, &berthv1.ListAccountSettingsRequest{Value: "enabled"})
			return err
		}, ecserr.InvalidArgument, "value:"},
		{"list more than 10", func() error {
			_, err := s.ListAccountSettings(ctx, &berthv1.ListAccountSettingsRequest{MaxResults: 11})
			return err
		}, ecserr.InvalidArgument, "maxResults"},
	})
	if e := ecserr.From(put("nope", "enabled", "")()); ecserr.Exception(e) != ecserr.InvalidParameterException {
		t.Fatalf("exception %s", ecserr.Exception(e))
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	s := newServer(t)
	mustRegister(t, s, "web")
	mustRegister(t, s, "web")
	if _, err := s.DeregisterTaskDefinition(ctx, &berthv1.DeregisterTaskDefinitionRequest{TaskDefinition: "web:1"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.DeleteTaskDefinitions(ctx, &berthv1.DeleteTaskDefinitionsRequest{TaskDefinitions: []string{
		"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1", "web:2", "web:7",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TaskDefinitions) != 1 || res.TaskDefinitions[0].Status != "DELETE_IN_PROGRESS" ||
		res.TaskDefinitions[0].TaskDefinitionArn != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" {
		t.Fatalf("deleted %v", res.TaskDefinitions)
	}
	if len(res.Failures) != 2 ||
		res.Failures[0].Arn != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" ||
		res.Failures[0].Reason != "The specified task definition is still in ACTIVE status. Please deregister the target and try again." ||
		res.Failures[1].Reason != "The specified task definition does not exist." {
		t.Fatalf("failures %v", res.Failures)
	}
	d, err := s.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:1"})
	if err != nil || d.TaskDefinition.Status != store.StatusDeleteInProgress {
		t.Fatalf("describe after the delete: %v, %v", d, err)
	}
	l, err := s.ListTaskDefinitions(ctx, &berthv1.ListTaskDefinitionsRequest{Status: "DELETE_IN_PROGRESS"})
	if err != nil || len(l.TaskDefinitionArns) != 1 {
		t.Fatalf("list DELETE_IN_PROGRESS: %v, %v", l, err)
	}
	if _, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web:1"}); err == nil {
		t.Fatal("RunTask of a DELETE_IN_PROGRESS revision succeeded")
	}

	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "web:1"
	}
	del := func(names ...string) func() error {
		return func() error {
			_, err := s.DeleteTaskDefinitions(ctx, &berthv1.DeleteTaskDefinitionsRequest{TaskDefinitions: names})
			return err
		}
	}
	rejections(t, s, []rejection{
		{"none", del(), ecserr.InvalidArgument, "taskDefinitions: is required"},
		{"11 items", del(eleven...), ecserr.InvalidArgument, "taskDefinitions: at most 10"},
		{"malformed ARN", del("web:1", "arn:aws:ecs:us-east-1"), ecserr.InvalidArgument, "taskDefinitions[1]: "},
		{"no revision", del("web"), ecserr.InvalidArgument, "taskDefinitions[0]: name a revision"},
		{"bad family", del("we b:1"), ecserr.InvalidArgument, "taskDefinitions[0]: "},
	})
}
