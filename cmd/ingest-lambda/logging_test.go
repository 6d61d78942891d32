package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestLoggerJSONWithRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(func(string) string { return "" }, &buf)
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	log.With("input", "s3").InfoContext(ctx, "event ingested", "records", 3)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	for k, want := range map[string]any{"message": "event ingested", "level": "INFO", "requestId": "req-42", "input": "s3", "records": 3.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, m[k], want, buf.String())
		}
	}
	if _, ok := m["timestamp"]; !ok {
		t.Errorf("no timestamp: %s", buf.String())
	}
}
