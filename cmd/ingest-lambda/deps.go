package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/flowq/flowq/internal/alert"
	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/ddbstate"
	"github.com/flowq/flowq/internal/pipeline"
)

// newState returns the detector state: DynamoDB when a table is set,
// otherwise memory (then a retry on another instance can alert again).
func newState(cfg config, awsCfg aws.Config) detect.State {
	if cfg.StateTable == "" {
		return detect.NewMemoryState()
	}
	return ddbstate.New(dynamodb.NewFromConfig(awsCfg), cfg.StateTable, ddbstate.Options{})
}

// newSink returns the alert sink: SNS when a topic is set, otherwise the
// function's log.
func newSink(cfg config, awsCfg aws.Config, log *slog.Logger) pipeline.Sink {
	if cfg.TopicARN == "" {
		return logSink{log}
	}
	return alert.NewSNS(sns.NewFromConfig(awsCfg), cfg.TopicARN, alert.SNSOptions{})
}

// logSink logs each alert, with the invocation's request id.
type logSink struct{ log *slog.Logger }

func (s logSink) Send(ctx context.Context, alerts []detect.Alert) error {
	for _, a := range alerts {
		s.log.WarnContext(ctx, "alert", "id", a.ID, "detector", a.Detector, "severity", a.Severity, "title", a.Title,
			"src", a.Src, "dst", a.Dst, "bytes", a.Bytes, "count", a.Count, "window_start", a.WindowStart)
	}
	return nil
}
