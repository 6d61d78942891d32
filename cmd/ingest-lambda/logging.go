package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// newLogger returns the function's logger: aws-lambda-go's lambdacontext
// handler when the function's log format is JSON (LoggingConfig.LogFormat,
// which sets AWS_LAMBDA_LOG_FORMAT); otherwise the same JSON shape (keys
// timestamp, level, message, requestId) from a JSON handler on w, so the logs
// are JSON with request ids whatever the function's settings.
func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	if getenv("AWS_LAMBDA_LOG_FORMAT") == "JSON" {
		return lambdacontext.NewLogger()
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})
	return slog.New(requestIDHandler{h})
}

// requestIDHandler adds the invocation's request id, as lambdacontext's
// handler does.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
