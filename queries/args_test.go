package queries

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	got, err := ParseArgs([]string{"cidr=10.0.11.0/24", " limit = 5 ", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, map[string]string{"cidr": "10.0.11.0/24", "limit": "5", "empty": ""}); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	for _, bad := range []string{"limit", "=5", " =5"} {
		if _, err := ParseArgs([]string{bad}); !errors.Is(err, ErrParam) {
			t.Errorf("ParseArgs(%q): err = %v, want ErrParam", bad, err)
		}
	}
}
