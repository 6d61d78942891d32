package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestDriftReport: with declared rules, each scheduled run reports drift. As
// declared: DriftedRules 0, no alert. SSH opened by hand on the database
// group: the run logs the rule, DriftedRules 1 and one SNS alert naming the
// group and rule; the next run with the same drift sends none; the revert
// brings DriftedRules back to 0. A second change while SNS fails: the
// invocation fails, nothing is stored, and the retry alerts.
func TestDriftReport(t *testing.T) {
	ctx := context.Background()
	awsCfg := startMoto(t)
	c, n := buildNetwork(t, awsCfg, true)
	s3c := newLakeBucket(t, awsCfg)
	// The alert topic, with a queue subscribed to read what it published.
	snsc, sqsc := sns.NewFromConfig(awsCfg), sqs.NewFromConfig(awsCfg)
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts-copy")})
	if err != nil {
		t.Fatal(err)
	}
	qarn := "arn:aws:sqs:" + motoserver.Region + ":123456789012:alerts-copy"
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qarn),
		Attributes: map[string]string{"RawMessageDelivery": "false"}}); err != nil {
		t.Fatal(err)
	}
	alerts := func() []map[string]any {
		t.Helper()
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		for _, m := range out.Messages {
			var body map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil {
				t.Fatalf("%v: %s", err, aws.ToString(m.Body))
			}
			got = append(got, body)
			sqsc.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle})
		}
		return got
	}

	env := map[string]string{envLake: "s3://" + lakeBucket + "/flows", envVPCID: n.VPC, envDeclared: invtest.DeclaredPath, envTopic: *topic.TopicArn}
	var logs, metrics bytes.Buffer
	h, err := newHandler(ctx, func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.drift.metrics = &metrics
	invoke := func() (Result, error) {
		t.Helper()
		logs.Reset()
		metrics.Reset()
		out, err := lambda.NewHandler(h).Invoke(ctx, []byte(scheduledEvent))
		if err != nil {
			return Result{}, err
		}
		var res Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("result %s: %v", out, err)
		}
		return res, nil
	}
	mustInvoke := func() Result {
		t.Helper()
		res, err := invoke()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	metric := func() float64 {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(metrics.Bytes(), &m); err != nil {
			t.Fatalf("EMF line %q: %v", metrics.String(), err)
		}
		if _, ok := m["_aws"]; !ok {
			t.Fatalf("EMF line without _aws: %s", metrics.String())
		}
		return m["DriftedRules"].(float64)
	}

	if res := mustInvoke(); res.DriftedRules != 0 || res.Alerted || metric() != 0 || len(alerts()) != 0 {
		t.Fatalf("as declared: %+v, metric %v", res, metric())
	}

	ssh := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &n.RDS, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	res := mustInvoke()
	rule := "added security-group " + n.RDS + " (RDSSecurityGroup, tradai-rds-sg) ingress rule tcp 22 from 0.0.0.0/0"
	if res.DriftedRules != 1 || res.NewDrift != 1 || !res.Alerted || metric() != 1 || !strings.Contains(logs.String(), rule) {
		t.Fatalf("after the change: %+v, metric %v, log:\n%s", res, metric(), logs.String())
	}
	got := alerts()
	if len(got) != 1 || !strings.Contains(got[0]["Subject"].(string), "added security-group rule outside the code (tradai)") ||
		!strings.Contains(got[0]["Message"].(string), rule) {
		t.Fatalf("alerts: %v", got)
	}

	// The same drift again (the network unchanged, nothing stored):
	// reported, not announced.
	if res := mustInvoke(); res.Stored || res.DriftedRules != 1 || res.NewDrift != 0 || res.Alerted || metric() != 1 || len(alerts()) != 0 {
		t.Fatalf("the same drift again: %+v", res)
	}

	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &n.RDS, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	if res := mustInvoke(); res.DriftedRules != 0 || metric() != 0 || len(alerts()) != 0 {
		t.Fatalf("after the revert: %+v", res)
	}

	// SNS fails: the run fails and stores nothing; the retry announces.
	lake, err := store.Open(ctx, env[envLake], store.Options{S3: s3c})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := len(arch.Times())
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &n.RDS, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	h.drift.topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
	if _, err := invoke(); err == nil || !strings.Contains(err.Error(), "publish drift alert") {
		t.Fatalf("with SNS failing: err = %v", err)
	}
	if err := arch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if after := len(arch.Times()); after != before {
		t.Errorf("a failed alert stored a snapshot (%d, was %d): the retry would not announce", after, before)
	}
	h.drift.topic = *topic.TopicArn
	if res := mustInvoke(); !res.Alerted || res.NewDrift != 1 || len(alerts()) != 1 {
		t.Errorf("the retry: %+v", res)
	}

	// A malformed declaration: the snapshot is still stored (alerts keep
	// their names), the invocation fails naming the parameter and field.
	bad := invtest.DeclaredPath + "/security-groups/Broken"
	if _, err := ssm.NewFromConfig(awsCfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(bad), Type: "String",
		Value: aws.String(`{"version":1,"kind":"security-group","name":"Broken","id":"sg-x","ingress":[{"ipProtocol":"tcp","fromPort":"many"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if err := arch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before = len(arch.Times())
	_, err = invoke()
	if err == nil || !strings.Contains(err.Error(), "stored without declared rules") || !strings.Contains(err.Error(), bad) ||
		!strings.Contains(err.Error(), `"many": want a whole number`) {
		t.Errorf("malformed declaration: err = %v", err)
	}
	if err := arch.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if after := len(arch.Times()); after != before+1 {
		t.Errorf("malformed declaration: %d snapshots, want %d (stored without it)", after, before+1)
	}
	// Fixed: the drift that was announced before the gap is not announced
	// again (the snapshot without declared rules is passed over).
	if _, err := ssm.NewFromConfig(awsCfg).DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(bad)}); err != nil {
		t.Fatal(err)
	}
	if res := mustInvoke(); res.DriftedRules != 1 || res.NewDrift != 0 || res.Alerted || len(alerts()) != 0 {
		t.Errorf("after the gap: %+v", res)
	}
}
