package cli_test

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Attributes listed and a custom one deleted through the CLI.
func TestListAndDeleteAttributes(t *testing.T) {
	e := newEnv(t, "us-east-1a")
	var list berthv1.ListContainerInstancesResponse
	e.decode(t, &list, "list-container-instances")
	if len(list.ContainerInstanceArns) != 1 {
		t.Fatalf("list-container-instances: %v", list.ContainerInstanceArns)
	}
	arn := list.ContainerInstanceArns[0]
	e.ok(t, "put-attributes", "--attributes", "name=stack,value=prod,targetId="+arn)
	var attrs berthv1.ListAttributesResponse
	e.decode(t, &attrs, "list-attributes", "--target-type", "container-instance", "--attribute-name", "stack")
	if len(attrs.Attributes) != 1 || attrs.Attributes[0].Value != "prod" || attrs.Attributes[0].TargetId != arn {
		t.Fatalf("list-attributes --attribute-name stack: %v", &attrs)
	}
	e.ok(t, "delete-attributes", "--attributes", "name=stack,targetId="+arn)
	e.decode(t, &attrs, "list-attributes", "--target-type", "container-instance", "--attribute-name", "stack")
	if len(attrs.Attributes) != 0 {
		t.Fatalf("after delete-attributes: %v", &attrs)
	}
}
