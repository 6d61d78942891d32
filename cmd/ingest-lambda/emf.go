package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// metricsNamespace is the CloudWatch namespace of the function's metrics.
const metricsNamespace = "flowq"

// emfMetrics are the metrics of one invocation, in CloudWatch Embedded
// Metric Format order.
var emfMetrics = []struct{ Name, Unit string }{
	{"Records", "Count"},
	{"BadLines", "Count"},
	{"Bytes", "Bytes"},
	{"Alerts", "Count"},
	{"ParquetObjects", "Count"},
	{"ParquetBytes", "Bytes"},
	{"Skipped", "Count"},
	{"JSONFallbacks", "Count"},
	{"LateRecords", "Count"},
	{"LateObjects", "Count"},
	{"InventoryLookups", "Count"},
	{"InventoryLookupFailures", "Count"},
	{"Errors", "Count"},
	{"Duration", "Milliseconds"},
}

type emfDirective struct {
	Namespace  string              `json:"Namespace"`
	Dimensions [][]string          `json:"Dimensions"`
	Metrics    []map[string]string `json:"Metrics"`
}

type emfLine struct {
	AWS struct {
		Timestamp         int64          `json:"Timestamp"`
		CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Input          string  `json:"Input"`
	Records        int64   `json:"Records"`
	BadLines       int64   `json:"BadLines"`
	Bytes          int64   `json:"Bytes"`
	Alerts         int     `json:"Alerts"`
	ParquetObjects int     `json:"ParquetObjects"`
	ParquetBytes   int64   `json:"ParquetBytes"`
	Skipped        int     `json:"Skipped"`
	JSONFallbacks  int     `json:"JSONFallbacks"`
	LateRecords    int64   `json:"LateRecords"`
	LateObjects    int     `json:"LateObjects"`
	Lookups        int     `json:"InventoryLookups"`
	LookupFailures int     `json:"InventoryLookupFailures"`
	Errors         int     `json:"Errors"`
	Duration       float64 `json:"Duration"`
	RequestID      string  `json:"requestId,omitempty"`
}

// emitMetrics writes one EMF line for the invocation: CloudWatch turns it
// into metrics, dimensioned by input kind.
func (h *handler) emitMetrics(ctx context.Context, s *summary, err error) {
	if h.metrics == nil {
		return
	}
	var l emfLine
	l.AWS.Timestamp = time.Now().UnixMilli()
	d := emfDirective{Namespace: metricsNamespace, Dimensions: [][]string{{"Input"}}}
	for _, m := range emfMetrics {
		d.Metrics = append(d.Metrics, map[string]string{"Name": m.Name, "Unit": m.Unit})
	}
	l.AWS.CloudWatchMetrics = []emfDirective{d}
	l.Input = s.Input
	if l.Input == "" {
		l.Input = "unknown"
	}
	l.Records, l.BadLines, l.Bytes, l.Alerts = s.Records, s.BadLines, s.Bytes, s.Alerts
	l.ParquetObjects, l.ParquetBytes, l.Skipped, l.JSONFallbacks = s.Objects, s.LakeBytes, s.Skipped, s.Fallbacks
	l.LateRecords, l.LateObjects = s.Late, s.LateObjects
	l.Lookups, l.LookupFailures = s.Lookups, s.LookupFailures
	l.Duration = s.DurationMS
	if err != nil {
		l.Errors = 1
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		l.RequestID = lc.AwsRequestID
	}
	b, _ := json.Marshal(&l)
	h.metrics.Write(append(b, '\n'))
}
