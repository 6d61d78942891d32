package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowq/flowq/infra/stacks"
)

// TestDeployedDeclared reads back, through SSM (the aws CLI, which
// deploy-local needs anyway), the declared rules each deployed preset
// publishes (stacks.PublishDeclared) and checks that CloudFormation resolved
// them: every security group and network ACL of the network stack is there,
// under its logical ID, with its deployed physical ID; group references are
// deployed group IDs; and each declares as many rules as EC2 holds live.
// (moto creates no network ACLs through CloudFormation: those are logged.)
func TestDeployedDeclared(t *testing.T) {
	endpoint := os.Getenv("FLOWQ_DEPLOY_ENDPOINT")
	if endpoint == "" {
		t.Skip("needs a deployment: run make -C infra deploy-local")
	}
	for _, preset := range strings.Fields(os.Getenv("FLOWQ_DEPLOY_PRESETS")) {
		t.Run(preset, func(t *testing.T) {
			p := stacks.Presets[preset]
			d := newDeployment(t, endpoint, os.Getenv("FLOWQ_DEPLOY_DIR"), p)
			path := stacks.DeclaredPath(stacks.Config{Preset: p})
			cmd := exec.Command("aws", "ssm", "get-parameters-by-path", "--path", path, "--recursive", "--output", "json",
				"--region", p.Region, "--endpoint-url", endpoint)
			// The credentials newDeployment's clients use.
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_PAGER=")
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				t.Fatalf("aws ssm get-parameters-by-path %s: %v: %s", path, err, stderr)
			}
			var res struct {
				Parameters []struct{ Name, Value string }
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			declared := map[string][2]int{} // physical ID → ingress (or entries), egress rules declared
			var names []string
			for _, prm := range res.Parameters {
				var v struct {
					Kind, Name, ID           string
					Ingress, Egress, Entries []map[string]any
				}
				if err := json.Unmarshal([]byte(prm.Value), &v); err != nil {
					t.Errorf("%s: %v: %s", prm.Name, err, prm.Value)
					continue
				}
				names = append(names, v.Name)
				want, deployed := d.physical["Network"][v.Name]
				if !deployed {
					// moto's CloudFormation creates no AWS::EC2::NetworkAcl (its Ref
					// resolves to "None"); TestDeclaredRules checks the template's.
					t.Logf("moto did not create %s: its declaration is checked in the template", v.Name)
					continue
				}
				if v.ID != want {
					t.Errorf("%s: id %q, want the deployed %s, %s", prm.Name, v.ID, v.Name, want)
				}
				for _, r := range append(v.Ingress, v.Egress...) {
					for _, k := range []string{"sourceSecurityGroupId", "destinationSecurityGroupId"} {
						if g, ok := r[k].(string); ok && d.name(g) == g {
							t.Errorf("%s: %s %q is no deployed group", prm.Name, k, g)
						}
					}
				}
				n := declared[v.ID]
				declared[v.ID] = [2]int{n[0] + len(v.Ingress) + len(v.Entries), n[1] + len(v.Egress)}
			}
			var want []string
			for id, r := range d.templates["Network"].Resources {
				if r.Type == "AWS::EC2::SecurityGroup" || r.Type == "AWS::EC2::NetworkAcl" {
					want = append(want, id)
				}
			}
			diff(t, "declared groups and ACLs", sorted(uniq(names)), sorted(want))

			// Live rule counts, one per peer as the EC2 API lists them.
			ctx := context.Background()
			sgs, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: d.vpcFilter(t)})
			if err != nil {
				t.Fatal(err)
			}
			live := map[string][2]int{}
			defaultEgress := map[string]bool{} // moto keeps EC2's allow-all egress
			peers := func(p ec2types.IpPermission) int {
				return len(p.IpRanges) + len(p.Ipv6Ranges) + len(p.PrefixListIds) + len(p.UserIdGroupPairs)
			}
			for _, g := range sgs.SecurityGroups {
				var n [2]int
				for _, p := range g.IpPermissions {
					n[0] += peers(p)
				}
				for _, p := range g.IpPermissionsEgress {
					n[1] += peers(p)
				}
				id := aws.ToString(g.GroupId)
				live[id] = n
				e := g.IpPermissionsEgress
				defaultEgress[id] = len(e) == 1 && aws.ToString(e[0].IpProtocol) == "-1" && peers(e[0]) == 1 &&
					len(e[0].IpRanges) == 1 && aws.ToString(e[0].IpRanges[0].CidrIp) == "0.0.0.0/0"
			}
			acls, err := d.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: d.vpcFilter(t)})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range acls.NetworkAcls {
				for _, e := range a.Entries {
					if aws.ToInt32(e.RuleNumber) < 32767 {
						n := live[aws.ToString(a.NetworkAclId)]
						live[aws.ToString(a.NetworkAclId)] = [2]int{n[0] + 1, n[1]}
					}
				}
			}
			var got, wantRules []string
			for id, n := range declared {
				l := live[id]
				if l[1] != n[1] && defaultEgress[id] {
					t.Logf("moto kept EC2's default egress of %s instead of its %d declared rules (checked in the template)", d.name(id), n[1])
					l[1] = n[1]
				}
				got = append(got, fmt.Sprintf("%s %d in %d out", d.name(id), n[0], n[1]))
				wantRules = append(wantRules, fmt.Sprintf("%s %d in %d out", d.name(id), l[0], l[1]))
			}
			diff(t, "rules declared (-declared +live)", sorted(got), sorted(wantRules))
		})
	}
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
