package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/store"
)

// alertMessages drains the alert queue: every alert as SNS delivered it,
// in title order.
func (f *fixture) alertMessages(t *testing.T) []detect.Alert {
	t.Helper()
	var got []detect.Alert
	for {
		out, err := f.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var a detect.Alert
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &a); err != nil {
				t.Fatalf("alert message %q: %v", aws.ToString(m.Body), err)
			}
			if a.ID != detect.AlertID(a.Key()) {
				t.Errorf("alert %s: id is not the key's", a.Title)
			}
			got = append(got, a)
			if _, err := f.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(f.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.SortFunc(got, func(a, b detect.Alert) int { return strings.Compare(a.Title, b.Title) })
	return got
}

// saveDemoSnapshot stores the reference network's inventory snapshot of the
// day before testStart in the function's lake, as the inventory Lambda
// keeps it.
func (f *fixture) saveDemoSnapshot(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	lake, err := store.Open(ctx, f.env[envLake], store.Options{S3: f.s3})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Save(ctx, inventory.DemoSnapshot(testStart.Add(-24*time.Hour))); err != nil {
		t.Fatal(err)
	}
}

// TestInventoryInAlerts: the function as deployed, with the reference
// network's inventory snapshot in its lake (as the inventory Lambda keeps
// it), on records written by hand the way AWS documents them:
//   - 1.4 MB from the backend API (10.0.11.50) to 203.0.113.77 through the
//     NAT instance: the task's record, and the NAT interface's two legs
//     (the task to the NAT, dstaddr the NAT's address and pkt-dstaddr the
//     internet host; the NAT to the internet, translated);
//   - SSH from the data-collection task (10.0.11.51) to the database,
//     ACCEPTed though the ECS group's egress rules deny it (drift).
//
// SNS delivers one exfiltration alert, from the task, of the transfer's
// 1.4 MB (not 2.8: the NAT's legs stand for it), naming the task's
// interface, subnet and group; one policy alert naming both ends and the
// deciding rule; no alert about the NAT. A replay delivers nothing.
func TestInventoryInAlerts(t *testing.T) {
	f := newFixture(t, nil)
	f.saveDemoSnapshot(t)

	at := testStart.Add(20 * time.Minute).Unix()
	// A record in seedFormat; the pkt-* addresses as given. TCP flags as AWS
	// ORs them over a short connection: 3 (SYN, FIN) from the client, 19
	// (SYN-ACK, FIN) from the server.
	line := func(eni, instance, subnet, src, dst string, sport, dport int, bytes int64, action, pktSrc, pktDst, dir string) string {
		flags := 3
		if sport < dport {
			flags = 19
		}
		return fmt.Sprintf("5 123456789012 %s %s %s %d %d 6 %d %d %d %d %s OK vpc-0flowq0seed0001 %s %s %d IPv4 %s %s us-east-1 use1-az1 %s - - -\n",
			eni, src, dst, sport, dport, bytes/1400+1, bytes, at, at+50, action, subnet, instance, flags, pktSrc, pktDst, dir)
	}
	const (
		task, collector, nat = "eni-0a1b2c3d4e5f60011", "eni-0a1b2c3d4e5f60012", "eni-0a1b2c3d4e5f600aa"
		natInstance          = "i-0flowq0nat0001"
		transfer             = 1_400_000
	)
	text := line(task, "-", "subnet-0priv1", "10.0.11.50", "203.0.113.77", 40000, 443, transfer, "ACCEPT", "10.0.11.50", "203.0.113.77", "egress") +
		line(task, "-", "subnet-0priv1", "203.0.113.77", "10.0.11.50", 443, 40000, 52_000, "ACCEPT", "203.0.113.77", "10.0.11.50", "ingress") +
		line(nat, natInstance, "subnet-0pub1", "10.0.11.50", "10.0.1.10", 40000, 443, transfer, "ACCEPT", "10.0.11.50", "203.0.113.77", "ingress") +
		line(nat, natInstance, "subnet-0pub1", "10.0.1.10", "203.0.113.77", 61000, 443, transfer, "ACCEPT", "10.0.1.10", "203.0.113.77", "egress") +
		line(nat, natInstance, "subnet-0pub1", "203.0.113.77", "10.0.1.10", 443, 61000, 52_000, "ACCEPT", "203.0.113.77", "10.0.1.10", "ingress") +
		line(collector, "-", "subnet-0priv1", "10.0.11.51", "10.0.21.100", 41000, 22, 5_000, "ACCEPT", "10.0.11.51", "10.0.21.100", "egress")
	payloads := packFlows(t, []byte(text), 2)
	if len(payloads) < 3 {
		t.Fatalf("%d payloads; want one per interface at least", len(payloads))
	}
	var total summary
	for _, p := range payloads {
		s, err := f.invoke(t, p)
		if err != nil {
			t.Fatal(err)
		}
		total.Records += s.Records
		total.Alerts += s.Alerts
	}
	if total.Records != 6 {
		t.Errorf("stored %d records, sent 6", total.Records)
	}

	got := f.alertMessages(t)
	var titles []string
	for _, a := range got {
		titles = append(titles, a.Title)
	}
	if len(got) != 2 || total.Alerts != 2 {
		t.Fatalf("%d alerts delivered (%d reported), want 2 (exfiltration, policy):\n%s", len(got), total.Alerts, strings.Join(titles, "\n"))
	}
	ex, pol := got[0], got[1]
	if ex.Detector != detect.Exfiltration || ex.Src != "10.0.11.50" || ex.Dst != "203.0.113.77" || ex.Bytes != transfer {
		t.Errorf("exfiltration alert: %s (%d bytes), want 10.0.11.50 -> 203.0.113.77 of %d bytes", ex.Title, ex.Bytes, transfer)
	}
	want := &detect.Resource{ENI: task, SubnetID: "subnet-0priv1", SubnetName: "tradai-private-a",
		SecurityGroups: []detect.GroupRef{{ID: "sg-0ecs", Name: "tradai-ecs-sg"}}, Name: "tradai-backend-api"}
	if r := ex.SrcResource; r == nil || r.ENI != want.ENI || r.SubnetID != want.SubnetID || r.SubnetName != want.SubnetName ||
		!slices.Equal(r.SecurityGroups, want.SecurityGroups) || r.Name != want.Name {
		t.Errorf("exfiltration src_resource %+v, want %+v", r, want)
	}
	if ex.DstResource != nil {
		t.Errorf("exfiltration dst_resource %+v for an internet host", ex.DstResource)
	}
	if !strings.Contains(ex.Title, "(tradai-backend-api)") {
		t.Errorf("exfiltration title %q lacks the name", ex.Title)
	}
	if pol.Detector != detect.Policy || pol.Src != "10.0.11.51" || pol.Dst != "10.0.21.100" || pol.Severity != "high" ||
		pol.Rule != "security-group: sg-0ecs (tradai-ecs-sg) egress: no rule allows tcp/22 to 10.0.21.100" {
		t.Errorf("policy alert: %s [%s] rule %q", pol.Title, pol.Severity, pol.Rule)
	}
	if pol.SrcResource == nil || pol.SrcResource.Name != "tradai-data-collection" || pol.SrcResource.ENI != collector ||
		pol.DstResource == nil || pol.DstResource.Name != "tradai-postgres" || pol.DstResource.SubnetName != "tradai-db-a" {
		t.Errorf("policy resources: %+v -> %+v", pol.SrcResource, pol.DstResource)
	}
	if !strings.Contains(pol.Title, "(tradai-data-collection)") || !strings.Contains(pol.Title, "(tradai-postgres)") {
		t.Errorf("policy title %q lacks the names", pol.Title)
	}

	// The same events again (Lambda retries, CloudWatch Logs redelivers):
	// nothing more.
	for _, p := range payloads {
		if _, err := f.invoke(t, p); err != nil {
			t.Fatal(err)
		}
	}
	if again := f.alertMessages(t); len(again) != 0 {
		t.Errorf("replay delivered %d alerts: %v", len(again), again[0].Title)
	}
}
