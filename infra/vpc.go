package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// checkVPC makes sure -c vpcId names a VPC of the deploy account and region before
// anything is deployed: otherwise CloudFormation would create the pipeline and only
// fail, and roll back, at the flow log. Without usable credentials (synth in CI) the
// check is skipped with a warning; only EC2's own "no such VPC" answer stops synth.
func checkVPC(ctx context.Context, log *slog.Logger, vpcID, region string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err == nil {
		_, err = ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	}
	var api smithy.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &api) && api.ErrorCode() == "InvalidVpcID.NotFound":
		return fmt.Errorf("vpcId: %s does not exist in %s for these credentials: check -c vpcId and -c region", vpcID, region)
	default:
		log.Warn("could not check that the VPC exists; continuing", "vpc", vpcID, "region", region, "err", err)
		return nil
	}
}
