package stacks

import (
	"strings"
	"testing"
)

func TestConfigFromContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"default preset is tradai", nil, func(c Config) bool {
			return c.Preset.Name == "tradai" && c.Region == "us-east-1" && c.CertificateARN == PlaceholderCertificateARN && !c.Preset.InterfaceEndpoints
		}, ""},
		{"menotime", map[string]string{"preset": "menotime"}, func(c Config) bool {
			return c.Region == "us-west-1" && c.Preset.NAT == NATGatewayPerAZ && c.Preset.InterfaceEndpoints
		}, ""},
		{"overrides", map[string]string{"preset": "tradai", "region": "eu-west-1", "account": "111122223333",
			"certificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/x", "alertEmail": "a@b.c", "interfaceEndpoints": "true"},
			func(c Config) bool {
				return c.Region == "eu-west-1" && c.Account == "111122223333" && c.AlertEmail == "a@b.c" &&
					c.Preset.InterfaceEndpoints && strings.HasSuffix(c.CertificateARN, "/x") && !Presets["tradai"].InterfaceEndpoints
			}, ""},
		{"endpoints off", map[string]string{"preset": "menotime", "interfaceEndpoints": "false"}, func(c Config) bool { return !c.Preset.InterfaceEndpoints }, ""},
		{"unknown preset", map[string]string{"preset": "acme"}, nil, "unknown preset"},
		{"bad bool", map[string]string{"interfaceEndpoints": "yes"}, nil, "interfaceEndpoints"},
		{"bad cidr", map[string]string{"preset": "menotime", "bastionCidr": "10.0.0.300/32"}, nil, "bastionCidr"},
		{"bastion on tradai", map[string]string{"bastionCidr": "198.51.100.7/32"}, nil, "only the menotime"},
		{"domain on tradai", map[string]string{"domain": "example.com"}, nil, "only the menotime"},
		{"bad certificate", map[string]string{"certificateArn": "cert-123"}, nil, "certificateArn"},
		{"bad email", map[string]string{"alertEmail": "ops"}, nil, "alertEmail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ConfigFromContext(func(k string) (string, bool) { v, ok := tc.ctx[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestStackID(t *testing.T) {
	if got := (Config{Preset: Presets["menotime"]}).StackID("Network"); got != "FlowqMenotimeNetwork" {
		t.Errorf("StackID = %s", got)
	}
}
