package stacks

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestNagAwsSolutions: the AwsSolutions pack reports no unsuppressed error or
// warning on any stack of either preset (suppressions carry their reasons in
// nag.go).
func TestNagAwsSolutions(t *testing.T) {
	for _, tc := range []struct {
		preset string
		ctx    map[string]string
	}{
		{"tradai", nil},
		{"menotime", nil},
		{"menotime", map[string]string{"domain": "menotime.example", "bastionCidr": "198.51.100.7/32", "alertEmail": "ops@example.com"}},
		{"tradai", map[string]string{"interfaceEndpoints": "true"}},
		{"tradai", s3Context},
		{"tradai", cwContext},
	} {
		t.Run(fmt.Sprint(tc.preset, tc.ctx), func(t *testing.T) {
			s := synth(t, tc.preset, tc.ctx)
			for _, st := range []awscdk.Stack{s.stacks.Network.Stack, s.stacks.Pipeline.Stack} {
				a := assertions.Annotations_FromStack(st)
				match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
				for _, m := range *a.FindError(jsii.String("*"), match) {
					t.Errorf("%s: error %s: %.60v", *st.StackName(), *m.Id, m.Entry.Data)
				}
				for _, m := range *a.FindWarning(jsii.String("*"), match) {
					t.Errorf("%s: warning %s: %.60v", *st.StackName(), *m.Id, m.Entry.Data)
				}
			}
		})
	}
}

// TestSuppressionsDocumented: every suppression has a specific reason and is listed
// in README.md's table.
func TestSuppressionsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	all := []suppression{vpc3, s3FlowLogVPC7, flowLogObjectsIAM5("us-east-1"), declaredIAM5(Config{Preset: Presets["tradai"], Region: "us-east-1"})}
	for _, m := range []map[string][]suppression{networkSuppressions, pipelineSuppressions, inventorySuppressions} {
		for _, ss := range m {
			all = append(all, ss...)
		}
	}
	for _, s := range all {
		if len(s.reason) < 60 {
			t.Errorf("%s: reason too thin: %q", s.id, s.reason)
		}
		if !strings.Contains(string(readme), "| "+s.id) {
			t.Errorf("%s is not in README.md's suppression table", s.id)
		}
	}
}
