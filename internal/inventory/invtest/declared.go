package invtest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// DeclaredPath is where PublishDeclared publishes.
const DeclaredPath = "/flowq/tradai/declared"

// PublishDeclared puts into SSM, under DeclaredPath, the declaration of the
// network's ALB and RDS groups and database ACL as flowq's CDK app publishes
// them (infra/stacks/declared.go: CloudFormation's property names, IDs
// resolved), written by hand from the rules Build creates: as built, the
// network has no drift.
func PublishDeclared(ctx context.Context, c *ssm.Client, n *Network) error {
	values := map[string]string{
		"security-groups/ALBSecurityGroup": fmt.Sprintf(`{"version":1,"kind":"security-group","name":"ALBSecurityGroup","id":%q,`+
			`"ingress":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"cidrIp":"0.0.0.0/0","description":"HTTPS from internet"},`+
			`{"ipProtocol":"tcp","fromPort":80,"toPort":80,"cidrIp":"0.0.0.0/0","description":"HTTP redirect to HTTPS"},`+
			`{"ipProtocol":"tcp","fromPort":8443,"toPort":8443,"sourcePrefixListId":%q}],`+
			`"egress":[{"ipProtocol":"tcp","fromPort":8000,"toPort":8002,"destinationSecurityGroupId":%q},`+
			`{"ipProtocol":"tcp","fromPort":5000,"toPort":5000,"destinationSecurityGroupId":%q}]}`, n.ALB, n.PrefixList, n.ECS, n.ECS),
		"security-groups/RDSSecurityGroup": fmt.Sprintf(`{"version":1,"kind":"security-group","name":"RDSSecurityGroup","id":%q,`+
			`"ingress":[{"ipProtocol":"tcp","fromPort":5432,"toPort":5432,"sourceSecurityGroupId":%q}],"egress":[]}`, n.RDS, n.ECS),
		"network-acls/DatabaseNetworkAcl": fmt.Sprintf(`{"version":1,"kind":"network-acl","name":"DatabaseNetworkAcl","id":%q,"entries":[`+
			`{"ruleNumber":100,"protocol":6,"ruleAction":"allow","egress":false,"cidrBlock":"10.0.11.0/24","portRange":{"from":5432,"to":5432}},`+
			`{"ruleNumber":110,"protocol":6,"ruleAction":"allow","egress":false,"cidrBlock":"10.0.12.0/24","portRange":{"from":5432,"to":5432}},`+
			`{"ruleNumber":100,"protocol":6,"ruleAction":"allow","egress":true,"cidrBlock":"10.0.11.0/24","portRange":{"from":1024,"to":65535}},`+
			`{"ruleNumber":110,"protocol":6,"ruleAction":"allow","egress":true,"cidrBlock":"10.0.12.0/24","portRange":{"from":1024,"to":65535}}]}`, n.DBACL),
	}
	for name, v := range values {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(DeclaredPath + "/" + name), Value: aws.String(v), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
		}); err != nil {
			return fmt.Errorf("publish declared %s: %w", name, err)
		}
	}
	return nil
}
