package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// wirePayload has CloudWatch Logs' own key order.
type wirePayload struct {
	MessageType         string                          `json:"messageType"`
	Owner               string                          `json:"owner"`
	LogGroup            string                          `json:"logGroup"`
	LogStream           string                          `json:"logStream"`
	SubscriptionFilters []string                        `json:"subscriptionFilters"`
	LogEvents           []events.CloudwatchLogsLogEvent `json:"logEvents"`
	PolicyLevel         string                          `json:"policyLevel,omitempty"`
}

// Encode builds the Lambda event CloudWatch Logs sends for d:
// {"awslogs":{"data":"<base64(gzip(JSON))>"}}. MessageType defaults to
// DATA_MESSAGE and SubscriptionFilters to none.
func Encode(d events.CloudwatchLogsData) ([]byte, error) {
	w := wirePayload{MessageType: d.MessageType, Owner: d.Owner, LogGroup: d.LogGroup, LogStream: d.LogStream,
		SubscriptionFilters: d.SubscriptionFilters, LogEvents: d.LogEvents}
	if w.MessageType == "" {
		w.MessageType = DataMessage
	}
	if w.SubscriptionFilters == nil {
		w.SubscriptionFilters = []string{}
	}
	if w.LogEvents == nil {
		w.LogEvents = []events.CloudwatchLogsLogEvent{}
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return EncodeJSON(bytes.TrimSuffix(js.Bytes(), []byte("\n")))
}

// EncodeJSON wraps raw subscription JSON as CloudWatch Logs does: gzip,
// base64, then the awslogs envelope.
func EncodeJSON(js []byte) ([]byte, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return EncodeGzip(gz.Bytes()), nil
}

// EncodeGzip wraps gzip bytes in base64 and the awslogs envelope.
func EncodeGzip(gz []byte) []byte {
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(gz))+32)
	out = append(out, `{"awslogs":{"data":"`...)
	out = base64.StdEncoding.AppendEncode(out, gz)
	return append(out, `"}}`...)
}

// EventID returns a 56-digit decimal event id in CloudWatch Logs' style,
// deterministic for (timestamp in ms, sequence number).
func EventID(ts int64, seq uint64) string {
	return fmt.Sprintf("3%019d%036d", ts, seq)
}
