package invtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

// TestApplied: EC2's "already exists" answers to a retried rule, entry or
// route are success; every other error stays.
func TestApplied(t *testing.T) {
	for _, code := range []string{"InvalidPermission.Duplicate", "NetworkAclEntryAlreadyExists", "RouteAlreadyExists"} {
		if err := applied(fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: code})); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}
	for _, err := range []error{&smithy.GenericAPIError{Code: "InvalidGroup.NotFound"}, errors.New("connection reset")} {
		if applied(err) != err {
			t.Errorf("%v swallowed", err)
		}
	}
	if applied(nil) != nil {
		t.Error("nil is not nil")
	}
}
