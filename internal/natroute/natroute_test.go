package natroute

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/flowq/flowq/internal/testutil/motoserver"
)

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{"defaults", map[string]string{EnvRouteTables: "rtb-1, rtb-2,"},
			Config{RouteTables: []string{"rtb-1", "rtb-2"}, Destination: "0.0.0.0/0"}, ""},
		{"all", map[string]string{EnvRouteTables: "rtb-1", EnvAllocation: "eipalloc-9", EnvDestination: "0.0.0.0/1"},
			Config{RouteTables: []string{"rtb-1"}, Destination: "0.0.0.0/1", AllocationID: "eipalloc-9"}, ""},
		{"no tables", nil, Config{}, "no route table"},
		{"not a table", map[string]string{EnvRouteTables: "subnet-1"}, Config{}, `"subnet-1" is not a route table`},
		{"bad destination", map[string]string{EnvRouteTables: "rtb-1", EnvDestination: "10.0.0/8"}, Config{}, EnvDestination},
		{"bad allocation", map[string]string{EnvRouteTables: "rtb-1", EnvAllocation: "52.1.2.3"}, Config{}, "not an Elastic IP allocation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(got, tc.want); d != "" {
				t.Errorf("config (-got +want):\n%s", d)
			}
		})
	}
}

// network is a tradai-like VPC in moto: two public subnets, two private route
// tables, an old NAT instance the first table's default route points at, and
// an Auto Scaling group that launched the new one.
type network struct {
	ec2        *ec2.Client
	tables     [2]string
	oldNAT     string
	oldENI     string
	newNAT     string
	allocation string
	group      string
}

func newNetwork(t *testing.T) *network {
	t.Helper()
	ctx := context.Background()
	moto := motoserver.Start(t)
	cfg := moto.Config(t)
	c := ec2.NewFromConfig(cfg)
	n := &network{ec2: c}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(err)
	vpcID := vpc.Vpc.VpcId
	var public [2]string
	for i, cidr := range []string{"10.0.1.0/24", "10.0.2.0/24"} {
		sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String(cidr),
			AvailabilityZone: aws.String(motoserver.Region + string(rune('a'+i)))})
		must(err)
		public[i] = aws.ToString(sn.Subnet.SubnetId)
	}
	for i := range n.tables {
		rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID})
		must(err)
		n.tables[i] = aws.ToString(rt.RouteTable.RouteTableId)
	}
	old, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT4gNano, SubnetId: &public[0]})
	must(err)
	n.oldNAT = aws.ToString(old.Instances[0].InstanceId)
	n.oldENI = aws.ToString(old.Instances[0].NetworkInterfaces[0].NetworkInterfaceId)
	_, err = c.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &n.tables[0], DestinationCidrBlock: aws.String("0.0.0.0/0"), NetworkInterfaceId: &n.oldENI})
	must(err)
	addr, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	n.allocation = aws.ToString(addr.AllocationId)

	// The group launches the new instance (in AZ-2: the AZ-1 outage case).
	as := autoscaling.NewFromConfig(cfg)
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("nat"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-12c6146b"), InstanceType: types.InstanceTypeT4gNano}})
	must(err)
	n.group = "tradai-nat-asg"
	_, err = as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: &n.group, MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		VPCZoneIdentifier: aws.String(public[1]),
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Latest")},
	})
	must(err)
	groups, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{n.group}})
	must(err)
	if len(groups.AutoScalingGroups) != 1 || len(groups.AutoScalingGroups[0].Instances) != 1 {
		t.Fatalf("auto scaling group: %+v", groups.AutoScalingGroups)
	}
	n.newNAT = aws.ToString(groups.AutoScalingGroups[0].Instances[0].InstanceId)
	return n
}

// launch is the lifecycle event AWS documents for a launch, for instance id.
func (n *network) launch(id string) Event {
	return Event{DetailType: "EC2 Instance-launch Lifecycle Action", Source: "aws.autoscaling", Detail: Detail{
		LifecycleActionToken: "87654321-4321-4321-4321-210987654321", AutoScalingGroupName: n.group,
		LifecycleHookName: "nat-launch", InstanceID: id, LifecycleTransition: LaunchTransition,
	}}
}

// defaultRoutes reads every table's 0.0.0.0/0 target back from EC2.
func (n *network) defaultRoutes(t *testing.T) map[string]string {
	t.Helper()
	out, err := n.ec2.DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{RouteTableIds: n.tables[:]})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rt := range out.RouteTables {
		for _, r := range rt.Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				got[aws.ToString(rt.RouteTableId)] = aws.ToString(r.NetworkInterfaceId) + aws.ToString(r.InstanceId) + aws.ToString(r.GatewayId)
			}
		}
	}
	return got
}

func (n *network) eni(t *testing.T, instance string) types.InstanceNetworkInterface {
	t.Helper()
	out, err := n.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{instance}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].NetworkInterfaces[0]
}

func TestHandleAgainstMoto(t *testing.T) {
	ctx := context.Background()
	n := newNetwork(t)
	u, err := New(Config{RouteTables: n.tables[:], Destination: "0.0.0.0/0", AllocationID: n.allocation}, n.ec2, nil)
	if err != nil {
		t.Fatal(err)
	}
	newENI := aws.ToString(n.eni(t, n.newNAT).NetworkInterfaceId)
	if d := cmp.Diff(n.defaultRoutes(t), map[string]string{n.tables[0]: n.oldENI}); d != "" {
		t.Fatalf("routes before (-got +want):\n%s", d)
	}

	t.Run("launch moves both routes", func(t *testing.T) {
		res, err := u.Handle(ctx, n.launch(n.newNAT))
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Instance: n.newNAT, ENI: newENI, Address: n.allocation,
			Routes: []string{n.tables[0] + " replaced", n.tables[1] + " created"}}
		if d := cmp.Diff(res, want); d != "" {
			t.Errorf("result (-got +want):\n%s", d)
		}
		// Read back from EC2, not from the result.
		if d := cmp.Diff(n.defaultRoutes(t), map[string]string{n.tables[0]: newENI, n.tables[1]: newENI}); d != "" {
			t.Errorf("routes (-got +want):\n%s", d)
		}
		attr, err := n.ec2.DescribeNetworkInterfaceAttribute(ctx, &ec2.DescribeNetworkInterfaceAttributeInput{
			NetworkInterfaceId: &newENI, Attribute: types.NetworkInterfaceAttributeSourceDestCheck})
		if err != nil {
			t.Fatal(err)
		}
		if attr.SourceDestCheck == nil || aws.ToBool(attr.SourceDestCheck.Value) {
			t.Errorf("source/dest check still on: %+v", attr.SourceDestCheck)
		}
		addrs, err := n.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{n.allocation}})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(addrs.Addresses[0].NetworkInterfaceId); got != newENI {
			t.Errorf("elastic ip on %q, want %s", got, newENI)
		}
	})

	t.Run("replay changes nothing", func(t *testing.T) {
		res, err := u.Handle(ctx, n.launch(n.newNAT))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(res.Routes, []string{n.tables[0] + " unchanged", n.tables[1] + " unchanged"}); d != "" {
			t.Errorf("routes (-got +want):\n%s", d)
		}
	})

	t.Run("late event for a terminated instance", func(t *testing.T) {
		if _, err := n.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{n.oldNAT}}); err != nil {
			t.Fatal(err)
		}
		res, err := u.Handle(ctx, n.launch(n.oldNAT))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Skipped, "instance is ") || len(res.Routes) != 0 {
			t.Errorf("result %+v: want skipped", res)
		}
		if d := cmp.Diff(n.defaultRoutes(t), map[string]string{n.tables[0]: newENI, n.tables[1]: newENI}); d != "" {
			t.Errorf("routes moved back (-got +want):\n%s", d)
		}
	})

	t.Run("other transition", func(t *testing.T) {
		ev := n.launch(n.newNAT)
		ev.Detail.LifecycleTransition = "autoscaling:EC2_INSTANCE_TERMINATING"
		res, err := u.Handle(ctx, ev)
		if err != nil || res.Skipped == "" {
			t.Errorf("result %+v, err %v: want skipped", res, err)
		}
	})

	t.Run("unknown instance", func(t *testing.T) {
		_, err := u.Handle(ctx, n.launch("i-0123456789abcdef0"))
		if !errors.Is(err, ErrNoInstance) {
			t.Errorf("err = %v, want ErrNoInstance", err)
		}
	})

	t.Run("unknown route table", func(t *testing.T) {
		bad, err := New(Config{RouteTables: []string{n.tables[0], "rtb-0123456789abcdef0"}, Destination: "0.0.0.0/0"}, n.ec2, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Handle(ctx, n.launch(n.newNAT))
		if err == nil || !strings.Contains(err.Error(), "rtb-0123456789abcdef0") {
			t.Errorf("err = %v, want one naming the table", err)
		}
		// The tables before it are done; a retry of the event finishes the rest.
		if d := cmp.Diff(n.defaultRoutes(t), map[string]string{n.tables[0]: newENI, n.tables[1]: newENI}); d != "" {
			t.Errorf("routes (-got +want):\n%s", d)
		}
	})

	t.Run("no instance ID", func(t *testing.T) {
		_, err := u.Handle(ctx, n.launch(""))
		if err == nil || !strings.Contains(err.Error(), "EC2InstanceId") {
			t.Errorf("err = %v", err)
		}
	})
}
