package resolve_test

import (
	"context"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
)

// TestResolveInterfaceFromNextSnapshot: a task's interface created between
// two syncs (a Fargate task, a Lambda's: they come and go) is in no
// snapshot taken at or before its first records, but in the next one. An
// interface ID is never reused, so the record's interface is named from
// that snapshot, as `flowq detect` over history runs without the EC2
// lookups the Lambda has, and not after the earlier task that held its
// address in the snapshot in force.
func TestResolveInterfaceFromNextSnapshot(t *testing.T) {
	m := &meta{objs: map[string][]byte{}}
	task := inventory.Interface{ID: "eni-0task77", Type: "interface", SubnetID: "subnet-0priv1", VPCID: "vpc-0flowq0seed0001",
		PrivateIPs: []string{"10.0.11.77"}, SecurityGroups: []string{"sg-0ecs"}, Tags: map[string]string{"Name": "batch-task"}, SourceDestCheck: true}
	// An earlier task held the address until 00:03.
	old := task
	old.ID, old.Tags = "eni-0oldtask", map[string]string{"Name": "old-task"}
	for h, with := range []bool{false, true, false} { // synced hourly; the task ran from 00:05 to 01:40
		s := inventory.DemoSnapshot(day.Add(time.Duration(h) * time.Hour))
		if with {
			s.Interfaces = append(s.Interfaces, task)
		} else if h == 0 {
			s.Interfaces = append(s.Interfaces, old)
		}
		data, err := inventory.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		m.PutMeta(context.Background(), inventory.MetaName(s.Taken), data)
	}
	r := resolve.Open(m, 0, resolve.Options{})
	at := day.Add(10 * time.Minute)
	if got := r.Resolve("eni-0task77", "10.0.11.77", at); got == nil || got.Name != "batch-task" || got.ENI != "eni-0task77" || got.SubnetName != "tradai-private-a" {
		t.Errorf("task's interface at 00:10: %+v, want batch-task", got)
	}
	// The address alone: the snapshot in force says the earlier task.
	if got := r.Resolve("", "10.0.11.77", at); got == nil || got.Name != "old-task" {
		t.Errorf("task's address alone at 00:10: %+v, want old-task, as the snapshot in force has it", got)
	}
	// The record's interface does not hold the address: not named from it.
	if got := r.Resolve("eni-0task77", "10.0.11.78", at); got == nil || got.ENI != "" {
		t.Errorf("another address on the task's interface: %+v, want the subnet only", got)
	}
}
