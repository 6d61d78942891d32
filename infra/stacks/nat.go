package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// NATInstanceType and NATImageParameter are seed 001's NAT instance: t4g.nano on
// Amazon Linux 2023 arm64 (the AMI ID is resolved from AWS's public SSM parameter at
// deploy time).
const (
	NATInstanceType   = "t4g.nano"
	NATImageParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
	// NATHookPackage is the route-update Lambda's main package in the root module.
	NATHookPackage = "./cmd/nat-hook"
	// NATLaunchHook ends the launch lifecycle hook's name (<stack>-nat-launch).
	NATLaunchHook = "nat-launch"
	// NATHookTimeout is how long a new instance has to configure forwarding and
	// complete its launch action before Auto Scaling abandons (replaces) it.
	NATHookTimeout = 600
)

// Logical IDs of the NAT instance's resources.
const (
	NATGroupID        = "NATAutoScalingGroup"
	NATElasticIPID    = "NATElasticIP"
	NATHookFunctionID = "NATRouteFunction"
	NATHookRuleID     = "NATLaunchRule"
	NATNotifyRuleID   = "NATGroupNotifications"
)

// natUserData is seed 001's user data for AL2023 (dnf; MASQUERADE on the interface
// of the default route rather than a fixed eth0), followed by the success signal:
// the instance completes its own launch lifecycle action once forwarding is on, and
// abandons it on any error, so Auto Scaling replaces an instance whose user data
// failed (EC2's health check alone would keep it). By then the route-update Lambda
// has pointed the private routes at the instance and moved the Elastic IP to it.
const natUserData = `#!/bin/bash
set -euo pipefail
imds() {
  local t
  t=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"
}
export AWS_DEFAULT_REGION=${AWS::Region}
IID=$(imds instance-id)
GROUP=$(aws autoscaling describe-auto-scaling-instances --instance-ids "$IID" --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)
signal() {
  aws autoscaling complete-lifecycle-action --lifecycle-action-result "$1" --instance-id "$IID" \
    --lifecycle-hook-name ${Hook} --auto-scaling-group-name "$GROUP"
}
trap 'signal ABANDON' ERR
for i in 1 2 3 4 5; do dnf install -y iptables-services && break; sleep 10; done
systemctl enable iptables
systemctl start iptables
echo "net.ipv4.ip_forward = 1" >/etc/sysctl.d/90-nat.conf
sysctl --system
OUT=$(ip route show default | awk '{print $5; exit}')
iptables -t nat -A POSTROUTING -o "$OUT" -j MASQUERADE
iptables -F FORWARD
service iptables save
test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
signal CONTINUE
`

// natInstance is what newNATInstance made that others refer to.
type natInstance struct {
	Group    awsautoscaling.CfnAutoScalingGroup
	Function awslambda.Function
}

// newNATInstance builds seed 001's NAT instance: an Auto Scaling group of exactly
// one t4g.nano across both public subnets (a replacement launches in the other AZ
// when one is down), an Elastic IP, and a launch lifecycle hook whose Lambda
// (cmd/nat-hook) turns the new instance's source/destination check off, moves the
// Elastic IP to it and points both private route tables' default routes at it. The
// instance is reached through SSM Session Manager; it has no key pair.
func newNATInstance(stack awscdk.Stack, cfg Config, code awslambda.Code, vpc awsec2.CfnVPC, public [2]awsec2.CfnSubnet,
	privateRT [2]awsec2.CfnRouteTable, sg awsec2.CfnSecurityGroup, igwAttach awscdk.CfnResource) natInstance {
	p := cfg.Preset
	eip := awsec2.NewCfnEIP(stack, jsii.String(NATElasticIPID), &awsec2.CfnEIPProps{
		Domain: jsii.String("vpc"),
		Tags:   &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-eip")}},
	})
	eip.Node().AddDependency(igwAttach)
	hook := awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String(NATLaunchHook)})

	fn := newNATRouteFunction(stack, code, vpc, privateRT, eip)
	// The hook's events go to the function. The rule matches the hook's name, not the
	// group's: the group depends on the rule, so that its first launch is seen.
	rule := awsevents.NewCfnRule(stack, jsii.String(NATHookRuleID), &awsevents.CfnRuleProps{
		Description: jsii.String("NAT instance launch: point the private routes at it"),
		EventPattern: map[string]any{
			"source": []string{"aws.autoscaling"}, "detail-type": []string{"EC2 Instance-launch Lifecycle Action"},
			"detail": map[string]any{"LifecycleHookName": []any{hook}},
		},
		Targets: &[]*awsevents.CfnRule_TargetProperty{{Id: jsii.String("nat-hook"), Arn: fn.FunctionArn()}},
	})
	perm := awslambda.NewCfnPermission(stack, jsii.String("NATRouteFunctionFromEvents"), &awslambda.CfnPermissionProps{
		Action: jsii.String("lambda:InvokeFunction"), FunctionName: fn.FunctionArn(),
		Principal: jsii.String("events.amazonaws.com"), SourceArn: rule.AttrArn(),
	})

	role := awsiam.NewRole(stack, jsii.String("NATInstanceRole"), &awsiam.RoleProps{
		Description: jsii.String("NAT instance: SSM Session Manager; completes its own launch lifecycle action"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("AmazonSSMManagedInstanceCore")),
		},
		InlinePolicies: &map[string]awsiam.PolicyDocument{"nat": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:     jsii.String("CompleteOwnLaunch"),
					Actions: jsii.Strings("autoscaling:CompleteLifecycleAction"),
					Resources: &[]*string{awscdk.Fn_Sub(jsii.String(
						"arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/*"), nil)},
					Conditions: &map[string]any{"StringEquals": map[string]any{"autoscaling:ResourceTag/flowq:nat": stack.StackName()}},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("FindOwnGroup"),
					Actions:   jsii.Strings("autoscaling:DescribeAutoScalingInstances"),
					Resources: jsii.Strings("*"), // Describe* supports no resource-level permissions
				}),
			},
		})},
	})
	pin(role, "NATInstanceRole")
	profile := awsiam.NewCfnInstanceProfile(stack, jsii.String("NATInstanceProfile"), &awsiam.CfnInstanceProfileProps{
		Roles: anys(role.RoleName()),
	})
	image := awsec2.MachineImage_FromSsmParameter(jsii.String(NATImageParameter), nil).GetImage(stack)
	lt := awsec2.NewCfnLaunchTemplate(stack, jsii.String("NATLaunchTemplate"), &awsec2.CfnLaunchTemplateProps{
		LaunchTemplateData: &awsec2.CfnLaunchTemplate_LaunchTemplateDataProperty{
			ImageId:            image.ImageId,
			InstanceType:       jsii.String(NATInstanceType),
			IamInstanceProfile: &awsec2.CfnLaunchTemplate_IamInstanceProfileProperty{Arn: profile.AttrArn()},
			MetadataOptions: &awsec2.CfnLaunchTemplate_MetadataOptionsProperty{
				HttpTokens: jsii.String("required"), HttpEndpoint: jsii.String("enabled"), HttpPutResponseHopLimit: jsii.Number(1),
			},
			// A public address until the hook moves the Elastic IP here (which
			// replaces it), so that the user data can install packages at once.
			NetworkInterfaces: &[]*awsec2.CfnLaunchTemplate_NetworkInterfaceProperty{{
				DeviceIndex: jsii.Number(0), AssociatePublicIpAddress: jsii.Bool(true),
				Groups: &[]*string{sg.AttrGroupId()}, DeleteOnTermination: jsii.Bool(true),
			}},
			BlockDeviceMappings: &[]*awsec2.CfnLaunchTemplate_BlockDeviceMappingProperty{{
				DeviceName: jsii.String("/dev/xvda"),
				Ebs: &awsec2.CfnLaunchTemplate_EbsProperty{
					VolumeSize: jsii.Number(8), VolumeType: jsii.String("gp3"), Encrypted: jsii.Bool(true), DeleteOnTermination: jsii.Bool(true),
				},
			}},
			UserData: awscdk.Fn_Base64(awscdk.Fn_Sub(jsii.String(natUserData), &map[string]*string{"Hook": hook})),
			TagSpecifications: &[]*awsec2.CfnLaunchTemplate_TagSpecificationProperty{{
				ResourceType: jsii.String("instance"),
				Tags: &[]*awscdk.CfnTag{
					{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-instance")},
					{Key: jsii.String("Purpose"), Value: jsii.String("NAT for private subnets")},
				},
			}},
		},
	})
	asg := awsautoscaling.NewCfnAutoScalingGroup(stack, jsii.String(NATGroupID), &awsautoscaling.CfnAutoScalingGroupProps{
		MinSize: jsii.String("1"), MaxSize: jsii.String("1"), DesiredCapacity: jsii.String("1"),
		HealthCheckType: jsii.String("EC2"), HealthCheckGracePeriod: jsii.Number(300),
		VpcZoneIdentifier: anys(public[0].Ref(), public[1].Ref()),
		LaunchTemplate: &awsautoscaling.CfnAutoScalingGroup_LaunchTemplateSpecificationProperty{
			LaunchTemplateId: lt.Ref(), Version: lt.AttrLatestVersionNumber(),
		},
		LifecycleHookSpecificationList: &[]*awsautoscaling.CfnAutoScalingGroup_LifecycleHookSpecificationProperty{{
			LifecycleHookName: hook, LifecycleTransition: jsii.String("autoscaling:EC2_INSTANCE_LAUNCHING"),
			HeartbeatTimeout: jsii.Number(NATHookTimeout), DefaultResult: jsii.String("ABANDON"),
		}},
		Tags: &[]*awsautoscaling.CfnAutoScalingGroup_TagPropertyProperty{
			{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-asg"), PropagateAtLaunch: jsii.Bool(false)},
			{Key: jsii.String("flowq:nat"), Value: stack.StackName(), PropagateAtLaunch: jsii.Bool(false)},
		},
	})
	asg.Node().AddDependency(igwAttach, rule, perm)
	return natInstance{Group: asg, Function: fn}
}

// newNATRouteFunction is the lifecycle hook's Lambda, allowed exactly the EC2 calls
// internal/natroute makes, on this VPC's resources where EC2 allows a resource.
func newNATRouteFunction(stack awscdk.Stack, code awslambda.Code, vpc awsec2.CfnVPC,
	privateRT [2]awsec2.CfnRouteTable, eip awsec2.CfnEIP) awslambda.Function {
	logs := awslogs.NewLogGroup(stack, jsii.String(NATHookFunctionID+"LogGroup"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		EncryptionKey: LogKey(stack),
	})
	ec2ARN := func(resource string, vars map[string]*string) *string {
		s := jsii.String("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:" + resource)
		if vars == nil {
			return awscdk.Fn_Sub(s, nil)
		}
		return awscdk.Fn_Sub(s, &vars)
	}
	enis := ec2ARN("network-interface/*", nil)
	role := awsiam.NewRole(stack, jsii.String(NATHookFunctionID+"Role"), &awsiam.RoleProps{
		Description: jsii.String("NAT lifecycle hook: point the private routes at the new NAT instance"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"routes": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("Logs"), Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
					Resources: &[]*string{logs.LogGroupArn()},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("Describe"), Actions: jsii.Strings("ec2:DescribeInstances", "ec2:DescribeRouteTables"),
					Resources: jsii.Strings("*"), // Describe* supports no resource-level permissions
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("PrivateRoutes"), Actions: jsii.Strings("ec2:CreateRoute", "ec2:ReplaceRoute"),
					Resources: &[]*string{
						ec2ARN("route-table/${RT}", map[string]*string{"RT": privateRT[0].Ref()}),
						ec2ARN("route-table/${RT}", map[string]*string{"RT": privateRT[1].Ref()}),
					},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("SourceDestCheck"), Actions: jsii.Strings("ec2:ModifyNetworkInterfaceAttribute"),
					Resources: &[]*string{enis},
					Conditions: &map[string]any{"ArnEquals": map[string]any{
						"ec2:Vpc": ec2ARN("vpc/${VPC}", map[string]*string{"VPC": vpc.Ref()}),
					}},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("ElasticIP"), Actions: jsii.Strings("ec2:AssociateAddress"),
					Resources: &[]*string{ec2ARN("elastic-ip/${A}", map[string]*string{"A": eip.AttrAllocationId()}), enis},
				}),
			},
		})},
	})
	pin(logs, NATHookFunctionID+"LogGroup")
	pin(role, NATHookFunctionID+"Role")
	fn := awslambda.NewFunction(stack, jsii.String(NATHookFunctionID), &awslambda.FunctionProps{
		Description:  jsii.String("flowq: NAT instance launch hook: private routes and Elastic IP to the new instance"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         code,
		MemorySize:   jsii.Number(128),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(60)),
		Role:         role,
		LogGroup:     logs,
		Environment: &map[string]*string{
			"FLOWQ_NAT_ROUTE_TABLES":   awscdk.Fn_Join(jsii.String(","), &[]*string{privateRT[0].Ref(), privateRT[1].Ref()}),
			"FLOWQ_NAT_EIP_ALLOCATION": eip.AttrAllocationId(),
		},
	})
	pin(fn, NATHookFunctionID)
	// The role's policies are inline: Fn::GetAtt already orders the function after
	// it, and the L2's explicit DependsOn repeats that (cfn-lint W3005).
	fn.Node().DefaultChild().(awscdk.CfnResource).AddDeletionOverride(jsii.String("DependsOn"))
	return fn
}

// NATNotifications sends the NAT group's launches and terminations (successful or
// not) to the alert topic: the notifications seed 001's group would send, through
// EventBridge because the topic lives in the pipeline stack, which is deployed after
// the network.
func NATNotifications(pipe *PipelineStack, net *NetworkStack) {
	if net == nil || net.NATGroup == nil {
		return
	}
	stack := pipe.Stack
	rule := awsevents.NewCfnRule(stack, jsii.String(NATNotifyRuleID), &awsevents.CfnRuleProps{
		Description: jsii.String("NAT Auto Scaling group launches and terminations to the alert topic"),
		EventPattern: map[string]any{
			"source": []string{"aws.autoscaling"},
			"detail-type": []string{
				"EC2 Instance Launch Successful", "EC2 Instance Launch Unsuccessful",
				"EC2 Instance Terminate Successful", "EC2 Instance Terminate Unsuccessful",
			},
			"detail": map[string]any{"AutoScalingGroupName": []any{net.NATGroup.Ref()}},
		},
		Targets: &[]*awsevents.CfnRule_TargetProperty{{Id: jsii.String("alerts"), Arn: pipe.Topic.TopicArn()}},
	})
	events := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	pipe.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("NATGroupEvents"),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("sns:Publish"), Resources: &[]*string{pipe.Topic.TopicArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.AttrArn()}},
	}))
	if key := pipe.Topic.MasterKey(); key != nil {
		key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("EventBridgePublish"),
			Principals: &[]awsiam.IPrincipal{events},
			Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
			Resources:  jsii.Strings("*"), // in a key policy "*" is this key
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
		}), jsii.Bool(false))
	}
}
