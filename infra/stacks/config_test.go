package stacks

import (
	"strings"
	"testing"
)

var (
	tradaiCert   = "arn:aws:acm:us-east-1:111122223333:certificate/x"
	menotimeCert = "arn:aws:acm:us-west-1:111122223333:certificate/y"
)

func TestConfigFromContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"default preset is tradai", map[string]string{"certificateArn": tradaiCert}, func(c Config) bool {
			return c.Preset.Name == "tradai" && c.Region == "us-east-1" && !c.Preset.InterfaceEndpoints &&
				c.DeploysNetwork() && c.FlowLogFormat == FlowLogFormat && !c.LooksUpZone()
		}, ""},
		{"menotime", map[string]string{"preset": "menotime", "certificateArn": menotimeCert}, func(c Config) bool {
			return c.Region == "us-west-1" && c.Preset.NAT == NATGatewayPerAZ && c.Preset.InterfaceEndpoints
		}, ""},
		// Certificates: an ARN, or a domain whose zone is created (menotime) or looked up (tradai).
		{"no certificate", nil, nil, "no certificate for the HTTPS listener: pass -c certificateArn=arn:aws:acm:us-east-1:"},
		{"no certificate names the domain option", map[string]string{"preset": "menotime"}, nil, "or -c domain=<your domain> to create one validated through DNS"},
		{"no certificate names the existing-VPC mode", nil, nil, "pass -c vpcId=vpc-... instead"},
		{"certificate in another region", map[string]string{"certificateArn": menotimeCert}, nil, "the certificate is in us-west-1 but the load balancer in us-east-1"},
		{"menotime domain creates the zone", map[string]string{"preset": "menotime", "domain": "menotime.example"}, func(c Config) bool {
			return c.CertificateARN == "" && !c.LooksUpZone() && c.Preset.PublicZone == ZoneCreate
		}, ""},
		{"tradai domain looks the zone up", map[string]string{"domain": "tradai.example"}, func(c Config) bool {
			return c.CertificateARN == "" && c.LooksUpZone()
		}, ""},
		{"domain and certificate: no lookup", map[string]string{"domain": "tradai.example", "certificateArn": tradaiCert}, func(c Config) bool {
			return !c.LooksUpZone()
		}, ""},
		{"bad domain", map[string]string{"domain": "Tradai_Example"}, nil, "not a lower-case DNS name"},
		// Existing VPC, existing flow log.
		{"vpcId", map[string]string{"vpcId": "vpc-0123456789abcdef0"}, func(c Config) bool {
			return !c.DeploysNetwork() && c.VPCID == "vpc-0123456789abcdef0" && c.FlowLogFormat == FlowLogFormat
		}, ""},
		{"bad vpcId", map[string]string{"vpcId": "vpc-xyz"}, nil, "vpcId: want a VPC ID"},
		{"vpcId with a certificate", map[string]string{"vpcId": "vpc-01234567", "certificateArn": tradaiCert}, nil,
			"certificateArn: belongs to the preset's network, which -c vpcId does not deploy"},
		{"flowLogGroup reads AWS's default format", map[string]string{"flowLogGroup": "/aws/vpc/prod-flow-logs"}, func(c Config) bool {
			return !c.DeploysNetwork() && c.FlowLogGroup == "/aws/vpc/prod-flow-logs" && c.FlowLogFormat == DefaultFlowLogFormat
		}, ""},
		{"flowLogGroup with its format", map[string]string{"flowLogGroup": "fl", "flowLogFormat": "${srcaddr} ${dstaddr} ${bytes}"}, func(c Config) bool {
			return c.FlowLogFormat == "${srcaddr} ${dstaddr} ${bytes}"
		}, ""},
		{"flowLogGroup with a bad format", map[string]string{"flowLogGroup": "fl", "flowLogFormat": "srcaddr dstaddr"}, nil, "flowLogFormat"},
		{"flowLogFormat alone", map[string]string{"flowLogFormat": "${srcaddr}", "certificateArn": tradaiCert}, nil, "only with -c flowLogGroup"},
		{"bad flowLogGroup", map[string]string{"flowLogGroup": "a b"}, nil, "not a CloudWatch Logs group name"},
		{"flowLogGroup with a bastion", map[string]string{"preset": "menotime", "flowLogGroup": "fl", "bastionCidr": "198.51.100.7/32"}, nil,
			"bastionCidr: belongs to the preset's network, which -c flowLogGroup does not deploy"},
		{"overrides", map[string]string{"preset": "tradai", "region": "eu-west-1", "account": "111122223333",
			"certificateArn": "arn:aws:acm:eu-west-1:111122223333:certificate/x", "alertEmail": "a@b.c", "interfaceEndpoints": "true"},
			func(c Config) bool {
				return c.Region == "eu-west-1" && c.Account == "111122223333" && c.AlertEmail == "a@b.c" &&
					c.Preset.InterfaceEndpoints && strings.HasSuffix(c.CertificateARN, "/x") && !Presets["tradai"].InterfaceEndpoints
			}, ""},
		{"endpoints off", map[string]string{"preset": "menotime", "interfaceEndpoints": "false", "certificateArn": menotimeCert}, func(c Config) bool { return !c.Preset.InterfaceEndpoints }, ""},
		{"unknown preset", map[string]string{"preset": "acme"}, nil, "unknown preset"},
		{"bad bool", map[string]string{"interfaceEndpoints": "yes"}, nil, "interfaceEndpoints"},
		{"bad cidr", map[string]string{"preset": "menotime", "bastionCidr": "10.0.0.300/32", "certificateArn": menotimeCert}, nil, "bastionCidr"},
		{"bastion on tradai", map[string]string{"bastionCidr": "198.51.100.7/32", "certificateArn": tradaiCert}, nil, "only the menotime"},
		{"bad certificate", map[string]string{"certificateArn": "cert-123"}, nil, "certificateArn: want an ACM certificate ARN"},
		{"bad email", map[string]string{"alertEmail": "ops", "certificateArn": tradaiCert}, nil, "alertEmail"},
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
