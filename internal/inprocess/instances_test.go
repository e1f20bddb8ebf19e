package inprocess_test

import (
	"context"
	"log/slog"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/inprocess"
)

// TestInstances: -dev's hook for the dashboard's "add instance" starts
// hollow instances that live until -dev's context ends.
func TestInstances(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := inprocess.NewInstances(ctx, t.TempDir(), slog.Default())
	if err := d.Add(context.Background(), "default", "us-east-1a", "m5.large"); err == nil {
		t.Fatal("add before the control plane started: no error")
	}
	c := cptest.Start(t, controlplane.Config{AddInstance: d.Add})
	d.Join(c.CP.GRPCAddr(), c.CP.JoinToken())
	if err := d.Add(context.Background(), "default", "us-east-1a", "x1.nope"); err == nil {
		t.Fatal("an unknown instance type: no error")
	}
	req, cancelReq := context.WithCancel(context.Background())
	if err := d.Add(req, "default", "us-east-1b", "r5.large"); err != nil {
		t.Fatal(err)
	}
	cancelReq() // the request ends; the instance stays
	arns := c.WaitInstances(t, 1)
	res, err := c.ECS.DescribeContainerInstances(c.Ctx, &berthv1.DescribeContainerInstancesRequest{ContainerInstances: arns})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range res.GetContainerInstances()[0].GetAttributes() {
		attrs[a.GetName()] = a.GetValue()
	}
	if attrs["ecs.availability-zone"] != "us-east-1b" || attrs["ecs.instance-type"] != "r5.large" {
		t.Errorf("attributes %v", attrs)
	}
	cancel() // Ctrl-C
	d.Wait()
	if err := d.Add(context.Background(), "default", "us-east-1a", "m5.large"); err == nil {
		t.Error("add after shutdown: no error")
	}
}
