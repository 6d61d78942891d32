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

	"github.com/flowq/flowq/infra/stacks"
)

// TestDeployedDeclared reads back, through SSM (the aws CLI, which
// deploy-local needs anyway), the declared rules each deployed preset
// publishes (stacks.PublishDeclared) and checks that CloudFormation resolved
// them: every security group and network ACL of the network stack is there,
// under its logical ID, with its deployed physical ID; group references are
// deployed group IDs; and each declares as many rules as EC2 holds live.
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
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("aws ssm get-parameters-by-path %s: %v", path, err)
			}
			var res struct {
				Parameters []struct{ Name, Value string }
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			declared := map[string]int{} // physical ID → rules declared
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
				if want := d.id(t, "Network", v.Name); v.ID != want {
					t.Errorf("%s: id %q, want the deployed %s, %s", prm.Name, v.ID, v.Name, want)
				}
				for _, r := range append(v.Ingress, v.Egress...) {
					for _, k := range []string{"sourceSecurityGroupId", "destinationSecurityGroupId"} {
						if g, ok := r[k].(string); ok && d.name(g) == g {
							t.Errorf("%s: %s %q is no deployed group", prm.Name, k, g)
						}
					}
				}
				declared[v.ID] += len(v.Ingress) + len(v.Egress) + len(v.Entries)
				names = append(names, v.Name)
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
			live := map[string]int{}
			for _, g := range sgs.SecurityGroups {
				for _, p := range append(g.IpPermissions, g.IpPermissionsEgress...) {
					live[aws.ToString(g.GroupId)] += len(p.IpRanges) + len(p.Ipv6Ranges) + len(p.PrefixListIds) + len(p.UserIdGroupPairs)
				}
			}
			acls, err := d.ec2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: d.vpcFilter(t)})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range acls.NetworkAcls {
				for _, e := range a.Entries {
					if aws.ToInt32(e.RuleNumber) < 32767 {
						live[aws.ToString(a.NetworkAclId)]++
					}
				}
			}
			var got, wantRules []string
			for id, n := range declared {
				got = append(got, fmt.Sprintf("%s %d", d.name(id), n))
				wantRules = append(wantRules, fmt.Sprintf("%s %d", d.name(id), live[id]))
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
