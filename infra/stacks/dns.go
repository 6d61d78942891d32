package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"
)

// Logical IDs of the certificate and the public zone.
const (
	CertificateID      = "Certificate"
	PublicHostedZoneID = "PublicHostedZone"
)

// newCertificate returns the HTTPS listener's certificate ARN: -c certificateArn as
// given, or a new ACM certificate for the domain and its subdomains validated
// through DNS in the domain's public hosted zone, which the network stack creates
// (menotime: seed 000's zone) or looks up (tradai). It also returns the created
// public zone, nil when the stack creates none.
func newCertificate(stack awscdk.Stack, cfg Config) (awsroute53.CfnHostedZone, *string) {
	var created awsroute53.CfnHostedZone
	var zone awsroute53.IHostedZone
	if cfg.Domain != "" && cfg.Preset.PublicZone == ZoneCreate {
		created = awsroute53.NewCfnHostedZone(stack, jsii.String(PublicHostedZoneID), &awsroute53.CfnHostedZoneProps{
			Name: jsii.String(cfg.Domain),
		})
		zone = awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("PublicZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: created.AttrId(), ZoneName: jsii.String(cfg.Domain),
		})
	}
	if cfg.CertificateARN != "" {
		return created, jsii.String(cfg.CertificateARN)
	}
	if zone == nil { // Validate allows no other case
		zone = awsroute53.HostedZone_FromLookup(stack, jsii.String("PublicZone"), &awsroute53.HostedZoneProviderProps{
			DomainName: jsii.String(cfg.Domain),
		})
	}
	cert := awscertificatemanager.NewCertificate(stack, jsii.String(CertificateID), &awscertificatemanager.CertificateProps{
		DomainName:              jsii.String(cfg.Domain),
		SubjectAlternativeNames: jsii.Strings("*." + cfg.Domain),
		Validation:              awscertificatemanager.CertificateValidation_FromDns(zone),
	})
	pin(cert, CertificateID)
	return created, cert.CertificateArn()
}

// newRecords adds the preset's DNS records: seed 001's private zone (backend, data,
// mlflow → the ALB), or seed 000's records in the public zone newCertificate made
// (api → the ALB, www → the domain).
func newRecords(stack awscdk.Stack, cfg Config, vpc awsec2.CfnVPC, public awsroute53.CfnHostedZone, lb elbv2.CfnLoadBalancer) {
	p := cfg.Preset
	if p.PrivateZone != "" {
		zone := awsroute53.NewCfnHostedZone(stack, jsii.String("PrivateHostedZone"), &awsroute53.CfnHostedZoneProps{
			Name: jsii.String(p.PrivateZone),
			Vpcs: &[]*awsroute53.CfnHostedZone_VPCProperty{{VpcId: vpc.Ref(), VpcRegion: jsii.String(cfg.Region)}},
			HostedZoneConfig: &awsroute53.CfnHostedZone_HostedZoneConfigProperty{
				Comment: jsii.String(p.Name + " private zone"),
			},
		})
		for _, host := range []string{"backend", "data", "mlflow"} {
			aliasRecord(stack, zone, host+"."+p.PrivateZone, lb)
		}
	}
	if public != nil {
		aliasRecord(stack, public, "api."+cfg.Domain, lb)
		awsroute53.NewCfnRecordSet(stack, jsii.String("WWWRecord"), &awsroute53.CfnRecordSetProps{
			HostedZoneId: public.Ref(), Name: jsii.String("www." + cfg.Domain), Type: jsii.String("CNAME"),
			Ttl: jsii.String("300"), ResourceRecords: &[]*string{jsii.String(cfg.Domain)},
		})
	}
}

func aliasRecord(stack awscdk.Stack, zone awsroute53.CfnHostedZone, fqdn string, lb elbv2.CfnLoadBalancer) {
	host := strings.ReplaceAll(strings.Split(fqdn, ".")[0], "-", "")
	id := strings.ToUpper(host[:1]) + host[1:] + "Record"
	awsroute53.NewCfnRecordSet(stack, jsii.String(id), &awsroute53.CfnRecordSetProps{
		HostedZoneId: zone.Ref(), Name: jsii.String(fqdn), Type: jsii.String("A"),
		AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
			DnsName: lb.AttrDnsName(), HostedZoneId: lb.AttrCanonicalHostedZoneId(), EvaluateTargetHealth: jsii.Bool(true),
		},
	})
}
