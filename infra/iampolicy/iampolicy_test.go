package iampolicy

import "testing"

// TestEvaluate: AWS's documented evaluation order on hand-written documents.
func TestEvaluate(t *testing.T) {
	in := Values{"AWS::AccountId": "123456789012", "Topic": "arn:aws:sns:us-east-1:123456789012:t"}
	doc := map[string]any{"Statement": []any{
		map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "sns:Publish",
			"Resource": map[string]any{"Ref": "Topic"}, "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
		map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}, "Action": []any{"sns:Pub*"},
			"Resource": map[string]any{"Ref": "Topic"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
				"ArnLike": map[string]any{"aws:SourceArn": map[string]any{"Fn::Join": []any{"", []any{"arn:aws:cloudwatch:us-east-1:", map[string]any{"Ref": "AWS::AccountId"}, ":alarm:*"}}}}}},
		map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sns:*", "Resource": "*",
			"Condition": map[string]any{"NumericLessThan": map[string]any{"x": "1"}}},
	}}
	tls := map[string]string{"aws:SecureTransport": "true", "aws:SourceAccount": "123456789012", "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a/b"}
	for _, tc := range []struct {
		name string
		r    Request
		want string
	}{
		{"allowed", Request{Service: "cloudwatch.amazonaws.com", Action: "SNS:Publish", Resource: in["Topic"], Context: tls}, "allow"},
		{"explicit deny wins", Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: in["Topic"],
			Context: map[string]string{"aws:SecureTransport": "false", "aws:SourceAccount": "123456789012", "aws:SourceArn": tls["aws:SourceArn"]}}, "deny"},
		{"condition key missing", Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: in["Topic"],
			Context: map[string]string{"aws:SecureTransport": "true"}}, "implicit deny"},
		{"other resource", Request{Service: "cloudwatch.amazonaws.com", Action: "sns:Publish", Resource: in["Topic"] + "2", Context: tls}, "implicit deny"},
		{"other service", Request{Service: "s3.amazonaws.com", Action: "sns:Publish", Resource: in["Topic"], Context: tls}, "implicit deny"},
		{"unsupported operator", Request{Account: "123456789012", Action: "sns:Publish", Resource: in["Topic"],
			Context: map[string]string{"aws:SecureTransport": "true", "x": "0"}}, "unsupported condition operator NumericLessThan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := in.Evaluate(doc, tc.r); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if got := (Values{"AWS::StackId": "arn:aws:cloudformation:r:a:stack/n/uuid"}).Resolve(map[string]any{"Fn::Select": []any{2.0,
		map[string]any{"Fn::Split": []any{"/", map[string]any{"Ref": "AWS::StackId"}}}}}); got != "uuid" {
		t.Errorf("Fn::Select of Fn::Split: %q", got)
	}
}
