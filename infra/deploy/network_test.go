package deploy

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/flowq/flowq/infra/stacks"
)

// TestDeployModes deploys the app's other modes into the moto_server that
// scripts/deploy-local.sh started (and bootstrapped in the presets' regions), under
// their own -c env so they sit beside the preset deployments, and reads them back:
//
//   - no certificate, or a VPC ID that names no VPC: synth stops before anything is
//     created;
//   - -c vpcId with a VPC made outside the app and -c flowLogDestination=cloudwatch:
//     the pipeline alone, with flowq's flow log on that VPC to a log group of its own
//     (TestS3Collector deploys -c vpcId in the default mode);
//   - a preset with -c flowLogDestination=cloud-watch-logs (the real-time mode): the
//     network's flow log to its log group, the pipeline subscribed to it, no
//     collector;
//   - -c flowLogGroup with a log group made outside the app: the pipeline alone,
//     subscribed to it, reading AWS's default format, and no new flow log.
//
// It also reads the tradai preset's NAT instance back when that preset was deployed.
func TestDeployModes(t *testing.T) {
	endpoint := os.Getenv("FLOWQ_DEPLOY_ENDPOINT")
	if endpoint == "" {
		t.Skip("needs a deployment: run make -C infra deploy-local")
	}
	m := newModes(t, endpoint)
	t.Run("NoCertificate", m.noCertificate)
	t.Run("NoSuchVPC", m.noSuchVPC)
	t.Run("ExistingVPC", m.existingVPC)
	if cert := os.Getenv("FLOWQ_DEPLOY_CERT_" + strings.ReplaceAll(strings.ToUpper(modesRegion), "-", "_")); cert != "" {
		t.Run("PresetCloudWatchLogs", func(t *testing.T) { m.presetCloudWatch(t, cert) })
	} else {
		t.Log("PresetCloudWatchLogs: no certificate for " + modesRegion + " from deploy-local (FLOWQ_DEPLOY_CERT_*); skipped")
	}
	t.Run("ExistingFlowLog", m.existingFlowLog)
	if strings.Contains(" "+os.Getenv("FLOWQ_DEPLOY_PRESETS")+" ", " tradai ") {
		t.Run("TradaiNATInstance", m.natInstance)
	}
}

// modes deploys with the CDK CLI into moto, in tradai's region (bootstrapped by the
// script).
type modes struct {
	endpoint, infra, app, cdk string
	cfn                       *cloudformation.Client
	ec2                       *ec2.Client
	logs                      *cloudwatchlogs.Client
	lambda                    *lambda.Client
	asg                       *autoscaling.Client
}

const modesRegion = "us-east-1" // tradai's

func newModes(t *testing.T, endpoint string) *modes {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(modesRegion), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	m := &modes{
		endpoint: endpoint, infra: filepath.Dir(wd),
		cfn: cloudformation.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		lambda: lambda.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg),
	}
	m.cdk = filepath.Join(m.infra, "node_modules", ".bin", "cdk")
	if _, err := os.Stat(m.cdk); err != nil {
		t.Fatalf("the CDK CLI is not installed (npm ci in infra/): %v", err)
	}
	// The script built the app binary; build it again when run by hand.
	m.app = filepath.Join(m.infra, ".build", "infra-app")
	build := exec.Command("go", "build", "-o", m.app, ".")
	build.Dir = m.infra
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build the app: %v\n%s", err, out)
	}
	return m
}

// deploy runs cdk deploy --all with the context and returns the cloud assembly
// directory (the templates), the CLI's output and its error.
func (m *modes) deploy(t *testing.T, ctx ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"deploy", "--all", "--app", m.app, "--method=direct", "--require-approval", "never",
		"--no-notices", "-o", dir}
	for _, c := range ctx {
		args = append(args, "-c", c)
	}
	cmd := exec.Command(m.cdk, args...)
	cmd.Dir = m.infra
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+m.endpoint, "AWS_REGION="+modesRegion, "AWS_DEFAULT_REGION="+modesRegion,
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "CDK_DISABLE_VERSION_CHECK=1", "CDK_DISABLE_CLI_TELEMETRY=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("cdk deploy %s: %s", strings.Join(ctx, " "), time.Since(start).Round(time.Second))
	return dir, string(out), err
}

// stackNames lists the stacks CloudFormation has (not deleted).
func (m *modes) stackNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	pages := cloudformation.NewListStacksPaginator(m.cfn, &cloudformation.ListStacksInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.StackSummaries {
			if s.StackStatus != cfntypes.StackStatusDeleteComplete {
				out[aws.ToString(s.StackName)] = true
			}
		}
	}
	return out
}

// physical maps a deployed stack's logical IDs to physical IDs.
func (m *modes) physical(t *testing.T, stack string) map[string]string {
	t.Helper()
	out := map[string]string{}
	pages := cloudformation.NewListStackResourcesPaginator(m.cfn, &cloudformation.ListStackResourcesInput{StackName: &stack})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("resources of %s: %v", stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			out[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
		}
	}
	return out
}

func (m *modes) noCertificate(t *testing.T) {
	before := m.stackNames(t)
	_, out, err := m.deploy(t, "preset=tradai", "env=nocert")
	if err == nil {
		t.Fatalf("cdk deploy without a certificate succeeded:\n%s", out)
	}
	for _, want := range []string{"no certificate for the HTTPS listener", "-c certificateArn=arn:aws:acm:us-east-1:", "-c domain="} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	after := m.stackNames(t)
	for name := range after {
		if !before[name] {
			t.Errorf("stack %s was created", name)
		}
	}
}

func (m *modes) noSuchVPC(t *testing.T) {
	before := m.stackNames(t)
	_, out, err := m.deploy(t, "preset=tradai", "env=novpc", "vpcId=vpc-0123456789abcdef0")
	if err == nil || !strings.Contains(out, "vpcId: vpc-0123456789abcdef0 does not exist in us-east-1") {
		t.Errorf("cdk deploy with an unknown VPC: err %v, output:\n%s", err, tail(out))
	}
	for name := range m.stackNames(t) {
		if !before[name] {
			t.Errorf("stack %s was created", name)
		}
	}
}

func (m *modes) existingVPC(t *testing.T) {
	ctx := context.Background()
	// A VPC made outside the app, as a user's would be.
	vpc, err := m.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.80.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	if _, err := m.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String("10.80.1.0/24")}); err != nil {
		t.Fatal(err)
	}
	cfg := stacks.Config{Preset: stacks.Presets["tradai"], Env: "byovpc"}
	if _, out, err := m.deploy(t, "preset=tradai", "env=byovpc", "vpcId="+vpcID, "flowLogDestination=cloudwatch"); err != nil {
		t.Fatalf("cdk deploy -c vpcId -c flowLogDestination=cloudwatch: %v\n%s", err, tail(out))
	}
	names := m.stackNames(t)
	if !names[cfg.StackID("Pipeline")] || names[cfg.StackID("Network")] {
		t.Errorf("stacks: pipeline %v, network %v; want the pipeline only", names[cfg.StackID("Pipeline")], names[cfg.StackID("Network")])
	}
	res := m.physical(t, cfg.StackID("Pipeline"))
	checkCloudWatchFlowLog(t, m.ec2, m.logs, vpcID, res[stacks.FlowLogGroupID])
	m.checkFormat(t, res, stacks.FlowLogFormat)
}

// presetCloudWatch deploys the tradai preset in the real-time mode under -c env=cw:
// the network's flow log to its log group, the pipeline subscribed to that group
// (moto skips subscription filters: the template says where it goes), no flow-log
// bucket, no collector schedule, and a function without the collector's settings.
func (m *modes) presetCloudWatch(t *testing.T, cert string) {
	cfg := stacks.Config{Preset: stacks.Presets["tradai"], Env: "cw"}
	dir, out, err := m.deploy(t, "preset=tradai", "env=cw", "certificateArn="+cert, "flowLogDestination=cloud-watch-logs")
	if err != nil {
		t.Fatalf("cdk deploy -c flowLogDestination=cloud-watch-logs: %v\n%s", err, tail(out))
	}
	if !strings.Contains(out, "flow logs delivered to CloudWatch Logs, a subscription invoking the Lambda per batch") {
		t.Errorf("cdk deploy does not say how the flow logs are read:\n%s", tail(out))
	}
	netRes, pipeRes := m.physical(t, cfg.StackID("Network")), m.physical(t, cfg.StackID("Pipeline"))
	checkCloudWatchFlowLog(t, m.ec2, m.logs, netRes["VPC"], netRes[stacks.FlowLogGroupID])
	for _, id := range []string{stacks.FlowLogBucketID, stacks.CollectScheduleID, stacks.S3FlowLogID} {
		if pipeRes[id] != "" {
			t.Errorf("the pipeline deployed %s (%s) in the CloudWatch Logs mode", id, pipeRes[id])
		}
	}
	tmpl := readTemplate(t, dir, cfg.StackID("Pipeline"))
	var subs []string
	for _, r := range tmpl.Resources {
		if r.Type == "AWS::Logs::SubscriptionFilter" {
			subs = append(subs, refOf(r.Properties["LogGroupName"])+" → "+refOf(r.Properties["DestinationArn"]))
		}
	}
	diff(t, "subscription filters", subs, []string{"import → " + stacks.IngestFunctionID})
	fn, err := m.lambda.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String(pipeRes[stacks.IngestFunctionID]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fn.Environment.Variables[stacks.EnvDelivery]; ok || aws.ToInt32(fn.Timeout) != 120 {
		t.Errorf("function: %s=%q, timeout %d s; want no collector and 120 s", stacks.EnvDelivery, fn.Environment.Variables[stacks.EnvDelivery], aws.ToInt32(fn.Timeout))
	}
}

func (m *modes) existingFlowLog(t *testing.T) {
	ctx := context.Background()
	group := "/aws/vpc/flowq-test-existing-flow-logs"
	if _, err := m.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatal(err)
	}
	all, err := m.ec2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := stacks.Config{Preset: stacks.Presets["tradai"], Env: "byofl"}
	dir, out, err := m.deploy(t, "preset=tradai", "env=byofl", "flowLogGroup="+group)
	if err != nil {
		t.Fatalf("cdk deploy -c flowLogGroup: %v\n%s", err, tail(out))
	}
	names := m.stackNames(t)
	if !names[cfg.StackID("Pipeline")] || names[cfg.StackID("Network")] {
		t.Errorf("stacks: pipeline %v, network %v; want the pipeline only", names[cfg.StackID("Pipeline")], names[cfg.StackID("Network")])
	}
	after, err := m.ec2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.FlowLogs) != len(all.FlowLogs) {
		t.Errorf("flow logs %d → %d: the app turned one on", len(all.FlowLogs), len(after.FlowLogs))
	}
	res := m.physical(t, cfg.StackID("Pipeline"))
	m.checkFormat(t, res, stacks.DefaultFlowLogFormat)
	// moto skips subscription filters: the synthesized template says where it goes.
	tmpl := readTemplate(t, dir, cfg.StackID("Pipeline"))
	var subs []string
	for _, r := range tmpl.Resources {
		if r.Type == "AWS::Logs::SubscriptionFilter" {
			subs = append(subs, refOf(r.Properties["LogGroupName"])+" → "+refOf(r.Properties["DestinationArn"]))
		}
	}
	diff(t, "subscription filters", subs, []string{group + " → " + stacks.IngestFunctionID})
}

// checkFormat: the deployed ingest Lambda parses the format the flow log writes.
func (m *modes) checkFormat(t *testing.T, res map[string]string, format string) {
	t.Helper()
	fn, err := m.lambda.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String(res[stacks.IngestFunctionID]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fn.Environment.Variables["FLOWQ_LOG_FORMAT"]; got != format {
		t.Errorf("FLOWQ_LOG_FORMAT = %q, want %q", got, format)
	}
}

// readTemplate reads a stack's synthesized template from a cloud assembly.
func readTemplate(t *testing.T, dir, stack string) template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, stack+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl template
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatalf("template of %s: %v", stack, err)
	}
	return tmpl
}

// natInstance reads the deployed tradai NAT instance back: a 1/1 group across both
// public subnets with the launch hook, the hook function pointed at both private
// route tables and the Elastic IP, and the rule that feeds it. (The function itself
// runs against moto in internal/natroute's tests: moto runs no EventBridge targets.)
func (m *modes) natInstance(t *testing.T) {
	ctx := context.Background()
	net := m.physical(t, stacks.Config{Preset: stacks.Presets["tradai"]}.StackID("Network"))
	groups, err := m.asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{net[stacks.NATGroupID]},
	})
	if err != nil || len(groups.AutoScalingGroups) != 1 {
		t.Fatalf("NAT group %q: %v %v", net[stacks.NATGroupID], err, groups)
	}
	g := groups.AutoScalingGroups[0]
	subnets := strings.Split(aws.ToString(g.VPCZoneIdentifier), ",")
	diff(t, "NAT group", []any{aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), sorted(subnets)},
		[]any{int32(1), int32(1), sorted([]string{net["PublicSubnet1"], net["PublicSubnet2"]})})
	hooks, err := m.asg.DescribeLifecycleHooks(ctx, &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: g.AutoScalingGroupName})
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks.LifecycleHooks) == 1 {
		h := hooks.LifecycleHooks[0]
		diff(t, "launch hook", []any{aws.ToString(h.LifecycleTransition), aws.ToString(h.DefaultResult), aws.ToInt32(h.HeartbeatTimeout)},
			[]any{"autoscaling:EC2_INSTANCE_LAUNCHING", "ABANDON", int32(stacks.NATHookTimeout)})
	} else {
		// moto does not apply the group's LifecycleHookSpecificationList: the
		// template the script deployed must hold it.
		t.Logf("moto did not apply the launch hook (%d hooks); checking the template", len(hooks.LifecycleHooks))
		dir := os.Getenv("FLOWQ_DEPLOY_DIR")
		tmpl := readTemplate(t, filepath.Join(dir, "cdk.out.tradai"), stacks.Config{Preset: stacks.Presets["tradai"]}.StackID("Network"))
		b, _ := json.Marshal(tmpl.Resources[stacks.NATGroupID].Properties["LifecycleHookSpecificationList"])
		for _, want := range []string{`"LifecycleTransition":"autoscaling:EC2_INSTANCE_LAUNCHING"`, `"DefaultResult":"ABANDON"`, `-nat-launch"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("launch hook in the template lacks %s: %s", want, b)
			}
		}
	}
	fn, err := m.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(net[stacks.NATHookFunctionID])})
	if err != nil {
		t.Fatal(err)
	}
	env := fn.Environment.Variables
	diff(t, "hook function environment", []string{env["FLOWQ_NAT_ROUTE_TABLES"], env["FLOWQ_NAT_EIP_ALLOCATION"]},
		[]string{net["PrivateRouteTable1"] + "," + net["PrivateRouteTable2"], allocationOf(t, m.ec2, net[stacks.NATElasticIPID])})
	if _, ok := net[stacks.NATHookRuleID]; !ok {
		t.Errorf("the hook's EventBridge rule was not deployed")
	}
	// The group's launches and terminations go to the alert topic.
	pipe := m.physical(t, stacks.Config{Preset: stacks.Presets["tradai"]}.StackID("Pipeline"))
	if _, ok := pipe[stacks.NATNotifyRuleID]; !ok {
		t.Errorf("the NAT group's notification rule was not deployed")
	}
}

// allocationOf maps an Elastic IP's physical ID (moto reports the address or the
// allocation) to its allocation ID.
func allocationOf(t *testing.T, c *ec2.Client, id string) string {
	t.Helper()
	if strings.HasPrefix(id, "eipalloc-") {
		return id
	}
	out, err := c.DescribeAddresses(context.Background(), &ec2.DescribeAddressesInput{PublicIps: []string{id}})
	if err != nil || len(out.Addresses) != 1 {
		t.Fatalf("elastic ip %s: %v", id, err)
	}
	return aws.ToString(out.Addresses[0].AllocationId)
}

// tail is the end of a long command output.
func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
