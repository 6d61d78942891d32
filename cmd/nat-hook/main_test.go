package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/internal/natroute"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// lifecycleEvent is AWS's documented "EC2 Instance-launch Lifecycle Action"
// event, with the instance ID substituted.
const lifecycleEvent = `{
  "version": "0",
  "id": "468fddb7-fd59-4bda-9a6b-0d7a8b6e6f23",
  "detail-type": "EC2 Instance-launch Lifecycle Action",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2015-12-22T18:43:48Z",
  "region": "us-east-1",
  "resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:042cba90-ad2f-431c-9b4d-6d9055bcc9fb:autoScalingGroupName/tradai-nat-asg"],
  "detail": {
    "LifecycleActionToken": "87654321-4321-4321-4321-210987654321",
    "AutoScalingGroupName": "tradai-nat-asg",
    "LifecycleHookName": "nat-launch",
    "EC2InstanceId": "INSTANCE",
    "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
    "NotificationMetadata": "additional-info",
    "Origin": "EC2",
    "Destination": "AutoScalingGroup"
  }
}`

func TestInvoke(t *testing.T) {
	ctx := context.Background()
	moto := motoserver.Start(t)
	for _, kv := range moto.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c := ec2.NewFromConfig(moto.Config(t))
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT4gNano, SubnetId: sn.Subnet.SubnetId})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	env := map[string]string{natroute.EnvRouteTables: aws.ToString(rt.RouteTable.RouteTableId)}
	h, err := newHandler(ctx, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewHandler(h).Invoke(ctx, []byte(strings.Replace(lifecycleEvent, "INSTANCE", aws.ToString(inst.InstanceId), 1)))
	if err != nil {
		t.Fatal(err)
	}
	var res natroute.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	eni := aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId)
	if res.ENI != eni || len(res.Routes) != 1 || !strings.HasSuffix(res.Routes[0], " created") {
		t.Errorf("result %s", out)
	}

	t.Run("bad configuration fails init", func(t *testing.T) {
		_, err := newHandler(ctx, func(string) string { return "" }, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), natroute.EnvRouteTables) {
			t.Errorf("err = %v", err)
		}
	})
}
