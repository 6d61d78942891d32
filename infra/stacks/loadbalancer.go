package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// elbLogAccounts are the Elastic Load Balancing accounts that write access logs in
// regions opened before August 2022; newer regions use the log-delivery service
// principal.
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
	"us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
	"ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
	"ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
	"ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
	"eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
	"eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}

// TargetGroupSpec is one of the seeds' target groups.
type TargetGroupSpec struct {
	ID   string
	Port int
}

// Role is the target group's name role: backend-tg, data-tg, mlflow-tg.
func (t TargetGroupSpec) Role() string {
	return strings.ToLower(strings.TrimSuffix(t.ID, "TargetGroup")) + "-tg"
}

// TargetGroups lists the preset's target groups.
func TargetGroups(p Preset) []TargetGroupSpec {
	if !p.MultiService {
		return []TargetGroupSpec{{"BackendTargetGroup", 8000}}
	}
	return []TargetGroupSpec{{"BackendTargetGroup", 8000}, {"DataTargetGroup", 8002}, {"MLflowTargetGroup", 5000}}
}

// TLSPolicy is the HTTPS listener's policy: TLS 1.2 and 1.3 only.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func newLoadBalancer(stack awscdk.Stack, cfg Config, certificateARN *string, vpc awsec2.CfnVPC, public [2]awsec2.CfnSubnet, sgs *securityGroups) elbv2.CfnLoadBalancer {
	p := cfg.Preset
	logs := awss3.NewBucket(stack, jsii.String(AccessLogBucketID), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED, // ALB access logs support SSE-S3 only
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id: jsii.String("expire-access-logs"), Expiration: awscdk.Duration_Days(jsii.Number(90)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
	})
	pin(logs, AccessLogBucketID)
	var principal awsiam.IPrincipal = awsiam.NewServicePrincipal(jsii.String("logdelivery.elasticloadbalancing.amazonaws.com"), nil)
	if acct, ok := elbLogAccounts[cfg.Region]; ok {
		principal = awsiam.NewArnPrincipal(jsii.String("arn:aws:iam::" + acct + ":root"))
	}
	logs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ELBAccessLogs"), Principals: &[]awsiam.IPrincipal{principal},
		Actions:   jsii.Strings("s3:PutObject"),
		Resources: &[]*string{logs.ArnForObjects(jsii.String("alb/AWSLogs/" + *stack.Account() + "/*"))},
	}))
	lb := elbv2.NewCfnLoadBalancer(stack, jsii.String("LoadBalancer"), &elbv2.CfnLoadBalancerProps{
		Scheme: jsii.String("internet-facing"), Type: jsii.String("application"), IpAddressType: jsii.String("ipv4"),
		Subnets: anys(public[0].Ref(), public[1].Ref()), SecurityGroups: anys(sgs.ALB.AttrGroupId()),
		LoadBalancerAttributes: &[]*elbv2.CfnLoadBalancer_LoadBalancerAttributeProperty{
			{Key: jsii.String("access_logs.s3.enabled"), Value: jsii.String("true")},
			{Key: jsii.String("access_logs.s3.bucket"), Value: logs.BucketName()},
			{Key: jsii.String("access_logs.s3.prefix"), Value: jsii.String("alb")},
			{Key: jsii.String("routing.http.drop_invalid_header_fields.enabled"), Value: jsii.String("true")},
		},
		Tags: &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Tag("alb"))}},
	})
	lb.Node().AddDependency(logs.Policy())

	tgs := map[string]elbv2.CfnTargetGroup{}
	for _, spec := range TargetGroups(p) {
		tgs[spec.ID] = elbv2.NewCfnTargetGroup(stack, jsii.String(spec.ID), &elbv2.CfnTargetGroupProps{
			Protocol: jsii.String("HTTP"), Port: jsii.Number(spec.Port), TargetType: jsii.String("ip"), VpcId: vpc.Ref(),
			HealthCheckEnabled: jsii.Bool(true), HealthCheckProtocol: jsii.String("HTTP"), HealthCheckPath: jsii.String("/health"),
			HealthCheckIntervalSeconds: jsii.Number(30), HealthCheckTimeoutSeconds: jsii.Number(5),
			HealthyThresholdCount: jsii.Number(2), UnhealthyThresholdCount: jsii.Number(3),
			Matcher: &elbv2.CfnTargetGroup_MatcherProperty{HttpCode: jsii.String("200")},
			Tags:    &[]*awscdk.CfnTag{{Key: jsii.String("Name"), Value: jsii.String(p.Tag(spec.Role()))}},
			TargetGroupAttributes: &[]*elbv2.CfnTargetGroup_TargetGroupAttributeProperty{
				{Key: jsii.String("deregistration_delay.timeout_seconds"), Value: jsii.String("30")},
				{Key: jsii.String("stickiness.enabled"), Value: jsii.String("false")},
			},
		})
	}
	elbv2.NewCfnListener(stack, jsii.String("HTTPListener"), &elbv2.CfnListenerProps{
		LoadBalancerArn: lb.Ref(), Port: jsii.Number(80), Protocol: jsii.String("HTTP"),
		DefaultActions: &[]*elbv2.CfnListener_ActionProperty{{
			Type: jsii.String("redirect"),
			RedirectConfig: &elbv2.CfnListener_RedirectConfigProperty{
				Protocol: jsii.String("HTTPS"), Port: jsii.String("443"), StatusCode: jsii.String("HTTP_301"),
				Host: jsii.String("#{host}"), Path: jsii.String("/#{path}"), Query: jsii.String("#{query}"),
			},
		}},
	})
	def := &elbv2.CfnListener_ActionProperty{Type: jsii.String("forward"), TargetGroupArn: tgs["BackendTargetGroup"].Ref()}
	if p.MultiService {
		def = &elbv2.CfnListener_ActionProperty{Type: jsii.String("fixed-response"),
			FixedResponseConfig: &elbv2.CfnListener_FixedResponseConfigProperty{
				StatusCode: jsii.String("404"), ContentType: jsii.String("text/plain"), MessageBody: jsii.String("not found"),
			}}
	}
	https := elbv2.NewCfnListener(stack, jsii.String("HTTPSListener"), &elbv2.CfnListenerProps{
		LoadBalancerArn: lb.Ref(), Port: jsii.Number(443), Protocol: jsii.String("HTTPS"),
		SslPolicy:      jsii.String(TLSPolicy),
		Certificates:   &[]*elbv2.CfnListener_CertificateProperty{{CertificateArn: certificateARN}},
		DefaultActions: &[]*elbv2.CfnListener_ActionProperty{def},
	})
	if p.MultiService {
		for _, r := range ListenerRules() {
			elbv2.NewCfnListenerRule(stack, jsii.String(r.ID), &elbv2.CfnListenerRuleProps{
				ListenerArn: https.Ref(), Priority: jsii.Number(r.Priority),
				Conditions: &[]*elbv2.CfnListenerRule_RuleConditionProperty{{
					Field:             jsii.String("path-pattern"),
					PathPatternConfig: &elbv2.CfnListenerRule_PathPatternConfigProperty{Values: jsii.Strings(r.Paths...)},
				}},
				Actions: &[]*elbv2.CfnListenerRule_ActionProperty{{Type: jsii.String("forward"), TargetGroupArn: tgs[r.TargetGroup].Ref()}},
			})
		}
	}
	return lb
}

// ListenerRule is one of seed 001's HTTPS listener rules.
type ListenerRule struct {
	ID          string
	Priority    int
	Paths       []string
	TargetGroup string
}

// ListenerRules are seed 001's path rules; anything else gets the fixed 404.
func ListenerRules() []ListenerRule {
	return []ListenerRule{
		{"BackendRule", 1, []string{"/strategies/*", "/data/*", "/health", "/backtest/*"}, "BackendTargetGroup"},
		{"MLflowRule", 2, []string{"/mlflow/*"}, "MLflowTargetGroup"},
	}
}
