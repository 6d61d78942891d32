// Package ec2query asks the EC2 Query API about one network interface
// with a plain signed HTTP request: the ingest Lambda's lookup for
// interfaces its snapshots lack, without linking the EC2 SDK (about 25 MB
// of binary for one call).
package ec2query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/flowq/flowq/internal/inventory"
)

// Client calls DescribeNetworkInterfaces.
type Client struct {
	cfg      aws.Config
	endpoint string
	signer   *v4.Signer
	http     *http.Client
}

// New returns a client for cfg's region and credentials. As for the SDK's
// EC2 client, an endpoint configured for EC2 (AWS_ENDPOINT_URL_EC2, or
// the profile's services section) replaces the regional one, and else
// cfg.BaseEndpoint (AWS_ENDPOINT_URL) does.
func New(cfg aws.Config) *Client {
	ep := "https://ec2." + cfg.Region + ".amazonaws.com/"
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		ep = strings.TrimSuffix(*cfg.BaseEndpoint, "/") + "/"
	}
	if s, ok := serviceEndpoint(cfg); ok {
		ep = strings.TrimSuffix(s, "/") + "/"
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	return &Client{cfg: cfg, endpoint: ep, signer: v4.NewSigner(), http: hc}
}

// serviceEndpoint returns the endpoint cfg's sources configure for EC2
// (the first source that has one: the environment's
// AWS_ENDPOINT_URL_EC2, the profile's services section, the loader's
// BaseEndpoint), as the SDK's clients look it up.
func serviceEndpoint(cfg aws.Config) (string, bool) {
	type source interface {
		GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
	}
	type ignore interface {
		GetIgnoreConfiguredEndpoints(ctx context.Context) (bool, bool, error)
	}
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(ignore); ok {
			if v, found, err := s.GetIgnoreConfiguredEndpoints(context.Background()); err == nil && found {
				if v {
					return "", false // AWS_IGNORE_CONFIGURED_ENDPOINTS
				}
				break
			}
		}
	}
	for _, src := range cfg.ConfigSources {
		if s, ok := src.(source); ok {
			if ep, found, err := s.GetServiceBaseEndpoint(context.Background(), "EC2"); err == nil && found && ep != "" {
				return ep, true
			}
		}
	}
	return "", false
}

// Lookup finds one interface: by ID, or by private address when eni is "".
// It returns nil, nil when there is none, or when several hold the address
// (VPCs whose ranges overlap: the API answers for the whole region).
func (c *Client) Lookup(ctx context.Context, eni, addr string) (*inventory.Interface, error) {
	form := url.Values{"Action": {"DescribeNetworkInterfaces"}, "Version": {"2016-11-15"}}
	if eni != "" {
		form.Set("Filter.1.Name", "network-interface-id")
		form.Set("Filter.1.Value.1", eni)
	} else {
		form.Set("Filter.1.Name", "addresses.private-ip-address")
		form.Set("Filter.1.Value.1", addr)
	}
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("describe network interfaces: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe network interfaces: credentials: %w", err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.cfg.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("describe network interfaces: sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("describe network interfaces: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("describe network interfaces: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Code    string `xml:"Errors>Error>Code"`
			Message string `xml:"Errors>Error>Message"`
		}
		_ = xml.Unmarshal(data, &e)
		return nil, fmt.Errorf("describe network interfaces: %s: %s %s", resp.Status, e.Code, e.Message)
	}
	var out response
	if err := xml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("describe network interfaces: response: %w", err)
	}
	if len(out.Items) != 1 {
		return nil, nil // none, or an address several VPCs use: no telling which
	}
	ifc := out.Items[0].interfaceOf()
	return &ifc, nil
}

type response struct {
	Items []item `xml:"networkInterfaceSet>item"`
}

type item struct {
	ID               string   `xml:"networkInterfaceId"`
	SubnetID         string   `xml:"subnetId"`
	VPCID            string   `xml:"vpcId"`
	AZ               string   `xml:"availabilityZone"`
	Description      string   `xml:"description"`
	Type             string   `xml:"interfaceType"`
	RequesterID      string   `xml:"requesterId"`
	RequesterManaged bool     `xml:"requesterManaged"`
	SourceDestCheck  *bool    `xml:"sourceDestCheck"`
	Status           string   `xml:"status"`
	PrivateIP        string   `xml:"privateIpAddress"`
	PublicIP         string   `xml:"association>publicIp"`
	InstanceID       string   `xml:"attachment>instanceId"`
	Groups           []string `xml:"groupSet>item>groupId"`
	Tags             []struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	} `xml:"tagSet>item"`
	Privates []struct {
		IP     string `xml:"privateIpAddress"`
		Public string `xml:"association>publicIp"`
	} `xml:"privateIpAddressesSet>item"`
	IPv6 []string `xml:"ipv6AddressesSet>item>ipv6Address"`
}

// interfaceOf converts the response item as ec2sync converts the SDK's.
func (it *item) interfaceOf() inventory.Interface {
	out := inventory.Interface{
		ID: it.ID, Type: it.Type, Description: it.Description, RequesterID: it.RequesterID, RequesterManaged: it.RequesterManaged,
		InstanceID: it.InstanceID, SubnetID: it.SubnetID, VPCID: it.VPCID, AZ: it.AZ, Status: it.Status,
		SourceDestCheck: it.SourceDestCheck == nil || *it.SourceDestCheck, IPv6: it.IPv6, SecurityGroups: it.Groups,
	}
	switch out.Type {
	case "":
		out.Type = inventory.TypeInterface
	case "natGateway":
		out.Type = inventory.TypeNATGateway // flow logs' spelling, as ec2sync reads it
	}
	if len(it.Tags) > 0 {
		out.Tags = map[string]string{}
		for _, t := range it.Tags {
			out.Tags[t.Key] = t.Value
		}
	}
	if it.PrivateIP != "" {
		out.PrivateIPs = append(out.PrivateIPs, it.PrivateIP)
	}
	addPublic := func(ip string) {
		if ip == "" {
			return
		}
		for _, p := range out.PublicIPs {
			if p == ip {
				return
			}
		}
		out.PublicIPs = append(out.PublicIPs, ip)
	}
	for _, p := range it.Privates {
		if p.IP != "" && p.IP != it.PrivateIP {
			out.PrivateIPs = append(out.PrivateIPs, p.IP)
		}
		addPublic(p.Public)
	}
	addPublic(it.PublicIP)
	return out
}
