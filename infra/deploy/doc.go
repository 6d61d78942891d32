// Package deploy holds the test that reads a local deployment of the CDK app back
// through the AWS APIs; scripts/deploy-local.sh deploys and runs it.
package deploy
