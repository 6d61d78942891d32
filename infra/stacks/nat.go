package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// NATInstanceType and NATImageParameter are seed 001's NAT instance: t4g.nano on
// Amazon Linux 2023 arm64 (the AMI ID is resolved from AWS's public SSM parameter at
// deploy time).
const (
	NATInstanceType   = "t4g.nano"
	NATImageParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
)

// natUserData configures forwarding and MASQUERADE (seed 001's user data, for
// AL2023: dnf, predictable interface names) and re-points the private routes on
// every launch: the routes target a fixed ENI (${NatEni}), and each instance the
// Auto Scaling group launches attaches that ENI as its second interface. A
// replacement instance therefore takes the routes over without any route change.
const natUserData = `#!/bin/bash
set -euxo pipefail
dnf install -y iptables-services
imds() {
  local t
  t=$(curl -sfX PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"
}
IID=$(imds instance-id)
export AWS_DEFAULT_REGION=${AWS::Region}
aws ec2 modify-instance-attribute --instance-id "$IID" --no-source-dest-check
# The ENI may still be attached to the instance being replaced: detach it, then attach.
for i in $(seq 1 30); do
  ATT=$(aws ec2 describe-network-interfaces --network-interface-ids ${NatEni} --query 'NetworkInterfaces[0].Attachment.[InstanceId,AttachmentId]' --output text)
  case "$ATT" in
    "$IID"*) break ;;
    None*|"") aws ec2 attach-network-interface --instance-id "$IID" --network-interface-id ${NatEni} --device-index 1 && break ;;
    *) aws ec2 detach-network-interface --attachment-id "$(echo "$ATT" | awk '{print $2}')" --force || true ;;
  esac
  sleep 10
done
cat >/etc/sysctl.d/90-nat.conf <<'EOF'
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
EOF
sysctl --system
OUT=$(ip route show default | awk '{print $5; exit}')
iptables -t nat -A POSTROUTING -o "$OUT" -j MASQUERADE
iptables -F FORWARD
service iptables save
systemctl enable --now iptables
`

// newNATInstance builds seed 001's NAT instance: a fixed ENI (the route target,
// source/dest check off), an instance role allowed to attach exactly that ENI,
// a launch template, and an Auto Scaling group of 1/1 in public subnet AZ-1.
func newNATInstance(stack awscdk.Stack, cfg Config, subnet awsec2.CfnSubnet, sg awsec2.CfnSecurityGroup, igwAttach awscdk.CfnResource) awsec2.CfnNetworkInterface {
	p := cfg.Preset
	eni := awsec2.NewCfnNetworkInterface(stack, jsii.String("NATInterface"), &awsec2.CfnNetworkInterfaceProps{
		SubnetId: subnet.Ref(), GroupSet: anys(sg.AttrGroupId()), SourceDestCheck: jsii.Bool(false),
		Description: jsii.String("route target of the private subnets; attached by the current NAT instance"),
		Tags:        &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-eni")}},
	})
	instanceArn := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"), nil)
	eniArn := awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/${Eni}"),
		&map[string]*string{"Eni": eni.Ref()})
	role := awsiam.NewRole(stack, jsii.String("NATInstanceRole"), &awsiam.RoleProps{
		Description: jsii.String("NAT instance: attach the route-target ENI, turn off source/dest check"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"nat": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("AttachRouteENI"),
					Actions:   jsii.Strings("ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"),
					Resources: &[]*string{eniArn, instanceArn},
					Conditions: &map[string]any{"StringEquals": map[string]any{
						"aws:ResourceTag/flowq:nat": p.Name,
					}},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("SourceDestCheck"),
					Actions:   jsii.Strings("ec2:ModifyInstanceAttribute"),
					Resources: &[]*string{instanceArn},
					Conditions: &map[string]any{"StringEquals": map[string]any{
						"aws:ResourceTag/flowq:nat": p.Name,
					}},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("DescribeENI"),
					Actions:   jsii.Strings("ec2:DescribeNetworkInterfaces"),
					Resources: jsii.Strings("*"), // Describe* supports no resource-level permissions
				}),
			},
		})},
	})
	awscdk.Tags_Of(eni).Add(jsii.String("flowq:nat"), jsii.String(p.Name), nil)
	profile := awsiam.NewCfnInstanceProfile(stack, jsii.String("NATInstanceProfile"), &awsiam.CfnInstanceProfileProps{
		Roles: anys(role.RoleName()),
	})
	image := awsec2.MachineImage_FromSsmParameter(jsii.String(NATImageParameter), nil).GetImage(stack)
	tags := &[]*awsec2.CfnLaunchTemplate_TagSpecificationProperty{{
		ResourceType: jsii.String("instance"),
		Tags: &[]*awscdk.CfnTag{
			{Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-instance")},
			{Key: jsii.String("Purpose"), Value: jsii.String("NAT for private subnets")},
			{Key: jsii.String("flowq:nat"), Value: jsii.String(p.Name)},
		},
	}}
	lt := awsec2.NewCfnLaunchTemplate(stack, jsii.String("NATLaunchTemplate"), &awsec2.CfnLaunchTemplateProps{
		LaunchTemplateData: &awsec2.CfnLaunchTemplate_LaunchTemplateDataProperty{
			ImageId:            image.ImageId,
			InstanceType:       jsii.String(NATInstanceType),
			IamInstanceProfile: &awsec2.CfnLaunchTemplate_IamInstanceProfileProperty{Arn: profile.AttrArn()},
			MetadataOptions: &awsec2.CfnLaunchTemplate_MetadataOptionsProperty{
				HttpTokens: jsii.String("required"), HttpEndpoint: jsii.String("enabled"), HttpPutResponseHopLimit: jsii.Number(1),
			},
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
			UserData:          awscdk.Fn_Base64(awscdk.Fn_Sub(jsii.String(natUserData), &map[string]*string{"NatEni": eni.Ref()})),
			TagSpecifications: tags,
		},
	})
	asg := awsautoscaling.NewCfnAutoScalingGroup(stack, jsii.String("NATAutoScalingGroup"), &awsautoscaling.CfnAutoScalingGroupProps{
		MinSize: jsii.String("1"), MaxSize: jsii.String("1"), DesiredCapacity: jsii.String("1"),
		HealthCheckType: jsii.String("EC2"), HealthCheckGracePeriod: jsii.Number(300),
		VpcZoneIdentifier: anys(subnet.Ref()),
		LaunchTemplate: &awsautoscaling.CfnAutoScalingGroup_LaunchTemplateSpecificationProperty{
			LaunchTemplateId: lt.Ref(), Version: lt.AttrLatestVersionNumber(),
		},
		Tags: &[]*awsautoscaling.CfnAutoScalingGroup_TagPropertyProperty{{
			Key: jsii.String("Name"), Value: jsii.String(p.Name + "-nat-asg"), PropagateAtLaunch: jsii.Bool(false),
		}},
	})
	asg.Node().AddDependency(igwAttach)
	return eni
}
