package detectflags

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/flowq/flowq/internal/detectconfig"
)

func bind(t *testing.T, files map[string]string, args ...string) (detectconfig.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f := Bind(fs, detectconfig.Default(), "claim-lease")
	if err := fs.Parse(args); err != nil {
		return detectconfig.Config{}, err
	}
	return f.Config(func(name string) ([]byte, error) {
		if d, ok := files[name]; ok {
			return []byte(d), nil
		}
		return nil, os.ErrNotExist
	}, func(c *detectconfig.Config) { c.Evidence = 7 })
}

// TestFlagsOverFile: the document, then fromFile, then the flags given.
func TestFlagsOverFile(t *testing.T) {
	files := map[string]string{"d.yaml": "window: 30m\nscan-ports: 20\ndetectors: [policy]\n", "bad.yaml": "window: 30m\nscan-ports: lots\n"}
	c, err := bind(t, files, "--config", "d.yaml", "--scan-ports", "30")
	if err != nil {
		t.Fatal(err)
	}
	if c.Window != 30*time.Minute || c.ScanPorts != 30 || c.Evidence != 7 || len(c.Detectors) != 1 || c.Detectors[0] != "policy" {
		t.Errorf("config %+v", c)
	}
	if c, err = bind(t, nil, "--scan-ports", "30"); err != nil || c.Evidence != detectconfig.DefaultEvidence || c.ScanPorts != 30 {
		t.Errorf("without a file: %v %+v", err, c)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", "bad.yaml"}, "bad.yaml:2: scan-ports"},
		{[]string{"--config", "none.yaml"}, "--config: "},
		{[]string{"--window", "10s"}, "window"},
		{[]string{"--claim-lease", "1m"}, "unknown flag: --claim-lease"},
		{[]string{"--detectors", "exfil"}, `unknown detector "exfil"`},
	} {
		_, err := bind(t, files, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := bind(t, files, "--config", "none.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read error not wrapped: %v", err)
	}
}
