package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/invtest"
	"github.com/flowq/flowq/internal/testutil/motoserver"
)

// TestInventoryDriftMoto: the network as declared syncs with no drift; a
// rule added with the EC2 API outside the code is reported, naming the group
// and the rule, by flowq inventory drift (exit 1) and in JSON; once removed,
// the next snapshot has no drift again; the earlier snapshot still reports
// it (--at). A network-ACL entry added by hand is drift too.
func TestInventoryDriftMoto(t *testing.T) {
	srv, c, n := motoNetwork(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	lake := filepath.Join(t.TempDir(), "lake")
	sync := func() string {
		t.Helper()
		code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC)
		if code != 0 {
			t.Fatalf("inventory sync: exit %d\n%s%s", code, out, errb)
		}
		return out
	}
	driftCLI := func(args ...string) (int, string) {
		t.Helper()
		code, out, errb := runCLI(t, "", nil, append([]string{"--lake", lake, "inventory", "drift"}, args...)...)
		if code == 2 {
			t.Fatalf("inventory drift: usage: %s", errb)
		}
		return code, out + errb
	}

	// Nothing published: the sync goes on, drift says what is missing.
	sync()
	if code, out := driftCLI(); code != 1 || !strings.Contains(out, "holds no declared rules") {
		t.Fatalf("drift without a declaration: exit %d: %s", code, out)
	}

	ssmc := ssm.NewFromConfig(cfg)
	if err := invtest.PublishDeclared(ctx, ssmc, n); err != nil {
		t.Fatal(err)
	}
	// Another deployment's declaration, of another network: auto leaves it.
	put := func(name, value string) {
		t.Helper()
		if _, err := ssmc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	put("/flowq/menotime/declared/security-groups/RDSSecurityGroup", `{"version":1,"kind":"security-group","name":"RDSSecurityGroup","id":"sg-0elsewhere","ingress":[],"egress":[]}`)
	if out := sync(); !strings.Contains(out, "declared: 2 security groups, 1 network ACLs (ssm:/flowq/tradai/declared); drift: none") {
		t.Fatalf("sync as declared: %s", out)
	}
	if code, out := driftCLI(); code != 0 || !strings.HasPrefix(out, "no drift: 2 security groups and 1 network ACLs as declared") {
		t.Fatalf("drift as declared: exit %d: %s", code, out)
	}

	// SSH opened to the world on the database group, by hand.
	ssh := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &n.RDS, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	if out := sync(); !strings.Contains(out, "drift: 1 difference (flowq inventory drift)") {
		t.Fatalf("sync after the change: %s", out)
	}
	code, out := driftCLI()
	want := "added security-group " + n.RDS + " (RDSSecurityGroup, tradai-rds-sg) ingress rule tcp 22 from 0.0.0.0/0: outside the code"
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("drift after the change: exit %d, want 1 and %q:\n%s", code, want, out)
	}
	code, out = driftCLI("-o", "json")
	var r struct {
		Findings []struct {
			Change, Kind, ID, Name, Direction, Rule string
			SGRule                                  map[string]any `json:"sg_rule"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v: %s", code, err, out)
	}
	if len(r.Findings) != 1 || r.Findings[0].Change != "added" || r.Findings[0].ID != n.RDS || r.Findings[0].Rule != "tcp 22 from 0.0.0.0/0" ||
		r.Findings[0].SGRule["from_port"] != float64(22) {
		t.Errorf("json findings: %+v", r.Findings)
	}

	// Removed again: no drift in the newest snapshot.
	if _, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &n.RDS, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	sync()
	if code, out := driftCLI(); code != 0 {
		t.Fatalf("drift after the revert: exit %d: %s", code, out)
	}

	// A deny entry inserted in the database ACL, and the declared PostgreSQL
	// entry from zone b deleted.
	if _, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: &n.DBACL, RuleNumber: aws.Int32(90), Egress: aws.Bool(false),
		Protocol: aws.String("-1"), CidrBlock: aws.String("10.0.11.0/24"), RuleAction: ec2types.RuleActionDeny}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: &n.DBACL, RuleNumber: aws.Int32(110), Egress: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	sync()
	code, out = driftCLI()
	for _, w := range []string{
		"added network-acl " + n.DBACL + " (DatabaseNetworkAcl, tradai-database-nacl) ingress rule #90 deny all from 10.0.11.0/24",
		"removed network-acl " + n.DBACL + " (DatabaseNetworkAcl, tradai-database-nacl) ingress rule #110 allow tcp 5432 from 10.0.12.0/24",
	} {
		if code != 1 || !strings.Contains(out, w) {
			t.Errorf("acl drift: exit %d, want %q:\n%s", code, w, out)
		}
	}

	// A second deployment declaring the same groups: auto cannot choose.
	put("/flowq/copy/declared/security-groups/RDSSecurityGroup", fmt.Sprintf(`{"version":1,"kind":"security-group","name":"RDSSecurityGroup","id":%q,"ingress":[],"egress":[]}`, n.RDS))
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC)
	if code != 2 || !strings.Contains(errb, "several deployments declare this network's rules (ssm:/flowq/copy/declared, ssm:/flowq/tradai/declared): pick one with --declared PATH") {
		t.Errorf("ambiguous: exit %d: %s%s", code, out, errb)
	}
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC, "--declared", "/flowq/tradai/declared"); code != 0 || !strings.Contains(out, "(ssm:/flowq/tradai/declared)") {
		t.Errorf("--declared PATH: exit %d: %s%s", code, out, errb)
	}
	// The same network and declaration again: nothing stored, the drift
	// still reported.
	_, listed, _ := runCLI(t, "", nil, "--lake", lake, "inventory", "list")
	if code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--vpc-id", n.VPC, "--declared", "/flowq/tradai/declared"); code != 0 ||
		!strings.HasPrefix(out, "inventory unchanged since ") || !strings.Contains(out, "drift: 2 differences") {
		t.Errorf("unchanged: exit %d: %s%s", code, out, errb)
	}
	if _, again, _ := runCLI(t, "", nil, "--lake", lake, "inventory", "list"); again != listed {
		t.Errorf("an unchanged sync stored a snapshot: %s, was %s", again, listed)
	}
}

// TestInventoryDriftAt: --at judges the snapshot of that time; usage errors
// exit 2; an empty lake says to sync.
func TestInventoryDriftAt(t *testing.T) {
	lake := t.TempDir()
	if code, _, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "drift"); code != 1 || !strings.Contains(errb, "flowq inventory sync") {
		t.Errorf("empty lake: exit %d: %s", code, errb)
	}
	decl := &inventory.Declaration{Source: "ssm:/flowq/tradai/declared", SecurityGroups: []inventory.SecurityGroup{
		{ID: "sg-1", Name: "RDSSecurityGroup", Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-2"}}},
	}}
	snap := func(at time.Time, extra ...inventory.SGRule) *inventory.Snapshot {
		g := inventory.SecurityGroup{ID: "sg-1", Name: "rds", Ingress: append([]inventory.SGRule{{Protocol: "tcp", FromPort: 5432, ToPort: 5432, Group: "sg-2"}}, extra...)}
		return &inventory.Snapshot{Version: inventory.SnapshotVersion, Taken: at, SecurityGroups: []inventory.SecurityGroup{g}, Declared: decl}
	}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	saveSnapshot(t, lake, snap(t0, inventory.SGRule{Protocol: "-1", FromPort: -1, ToPort: -1, CIDR: "0.0.0.0/0"}))
	saveSnapshot(t, lake, snap(t0.Add(time.Hour)))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"newest: restored", nil, 0, "no drift: 1 security groups and 0 network ACLs as declared (snapshot 2026-11-30T11:00:00Z"},
		{"at the older", []string{"--at", "2026-11-30T10:30:00Z"}, 1, "added security-group sg-1 (RDSSecurityGroup, rds) ingress rule all from 0.0.0.0/0"},
		{"bad output", []string{"-o", "yaml"}, 2, `--output "yaml": want table or json`},
		{"bad time", []string{"--at", "noon"}, 2, "--at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := runCLI(t, "", nil, append([]string{"--lake", lake, "inventory", "drift"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errb, tc.want) {
				t.Errorf("exit %d, want %d and %q:\n%s%s", code, tc.code, tc.want, out, errb)
			}
		})
	}
}

// TestInventorySyncDeclaredFails: --declared PATH that holds nothing (or
// cannot be read) stores the snapshot without declared rules and exits 1.
func TestInventorySyncDeclaredFails(t *testing.T) {
	srv := motoserver.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	lake := filepath.Join(t.TempDir(), "lake")
	code, out, errb := runCLI(t, "", nil, "--lake", lake, "inventory", "sync", "--declared", "/flowq/nothing/declared")
	if code != 1 || !strings.Contains(out, "inventory inventory/") ||
		!strings.Contains(errb, "stored without declared rules (no drift report): declared rules not read: no declared rules published under /flowq/nothing/declared") {
		t.Errorf("exit %d:\n%s%s", code, out, errb)
	}
	if code, out, _ := runCLI(t, "", nil, "--lake", lake, "inventory", "list"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("list after the sync: exit %d: %s", code, out)
	}
}
