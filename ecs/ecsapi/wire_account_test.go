package ecsapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Account settings and DeleteTaskDefinitions through aws-sdk-go-v2's ECS
// client, on ECS's JSON wire.
func TestSDKAccountSettingsAndDeleteTaskDefinitions(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()

	put, err := client.PutAccountSettingDefault(ctx, &ecs.PutAccountSettingDefaultInput{
		Name: types.SettingNameContainerInsights, Value: aws.String("enabled")})
	if err != nil || aws.ToString(put.Setting.PrincipalArn) != "arn:aws:iam::000000000000:root" || put.Setting.Type != types.SettingTypeUser {
		t.Fatalf("put default: %+v, %v", put, err)
	}
	user := "arn:aws:iam::000000000000:role/deployer"
	if _, err := client.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{
		Name: types.SettingNameAwsvpcTrunking, Value: aws.String("enabled"), PrincipalArn: aws.String(user)}); err != nil {
		t.Fatal(err)
	}
	effective := map[types.SettingName]string{}
	pages := ecs.NewListAccountSettingsPaginator(client, &ecs.ListAccountSettingsInput{
		EffectiveSettings: true, PrincipalArn: aws.String(user), MaxResults: 4})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page.Settings {
			effective[st.Name] = aws.ToString(st.Value)
		}
	}
	if effective[types.SettingNameContainerInsights] != "enabled" || effective[types.SettingNameAwsvpcTrunking] != "enabled" ||
		effective[types.SettingNameTaskLongArnFormat] != "enabled" || effective[types.SettingNameFargateTaskRetirementWaitPeriod] != "7" {
		t.Fatalf("effective settings: %v", effective)
	}
	del, err := client.DeleteAccountSetting(ctx, &ecs.DeleteAccountSettingInput{Name: types.SettingNameAwsvpcTrunking, PrincipalArn: aws.String(user)})
	if err != nil || aws.ToString(del.Setting.Value) != "enabled" {
		t.Fatalf("delete: %+v, %v", del, err)
	}
	_, err = client.PutAccountSetting(ctx, &ecs.PutAccountSettingInput{Name: "noSuchSetting", Value: aws.String("enabled")})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("unknown setting: %T %v, want InvalidParameterException", err, err)
	}

	in := readTaskDef(t, "aws-samples__aws-containers-task-definitions__nginx_ec2.json")
	reg, err := client.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	arn := reg.TaskDefinition.TaskDefinitionArn
	if _, err := client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: arn}); err != nil {
		t.Fatal(err)
	}
	out, err := client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{aws.ToString(arn), "nginx:9"}})
	if err != nil || len(out.TaskDefinitions) != 1 || out.TaskDefinitions[0].Status != types.TaskDefinitionStatusDeleteInProgress ||
		len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "The specified task definition does not exist." {
		t.Fatalf("delete task definitions: %+v, %v", out, err)
	}
	desc, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: arn})
	if err != nil || desc.TaskDefinition.Status != types.TaskDefinitionStatusDeleteInProgress {
		t.Fatalf("describe after the delete: %+v, %v", desc, err)
	}
}
