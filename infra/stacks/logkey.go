package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
)

// LogKeyID is the pinned logical ID of a stack's log-group key.
const LogKeyID = "LogKey"

// LogKey is the stack's customer key for its CloudWatch Logs groups (made on first
// use; one per stack): CloudWatch Logs of this account and region may use it for
// this account's log groups only. Retained with the groups it encrypts.
func LogKey(stack awscdk.Stack) awskms.Key {
	if c := stack.Node().TryFindChild(jsii.String(LogKeyID)); c != nil {
		return c.(awskms.Key)
	}
	key := awskms.NewKey(stack, jsii.String(LogKeyID), &awskms.KeyProps{
		Description:       jsii.String("flowq: CloudWatch Logs encryption (" + *stack.StackName() + ")"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	pin(key, LogKeyID)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("CloudWatchLogsGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(
			jsii.String("logs."+*stack.Region()+".amazonaws.com"), nil)},
		Actions:   jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources: jsii.Strings("*"), // in a key policy "*" is this key
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + *stack.Partition() + ":logs:" + *stack.Region() + ":" + *stack.Account() + ":log-group:*",
		}},
	}), jsii.Bool(false))
	return key
}
