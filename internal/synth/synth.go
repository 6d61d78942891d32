// Package synth generates realistic flow-log records for the seed VPC
// (10.0.0.0/16: public 10.0.1-2, private/ECS 10.0.11-12, database
// 10.0.20-22): ALB traffic to ECS on 8000/8002/5000, ECS to RDS on 5432,
// HTTPS egress through NAT, internet scans rejected at the edge, NODATA
// intervals, and injectable incidents. Output is deterministic for a seed.
package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// Account is the AWS account id used in generated records.
const Account = "123456789012"

// Flow is one flow-log record with every field the generator fills. Zero
// numeric values of NODATA/SKIPDATA records are written as "-".
type Flow struct {
	Version     int
	Account     string
	ENI         string
	Src, Dst    string
	SrcPort     int
	DstPort     int
	Protocol    int
	Packets     int64
	Bytes       int64
	Start, End  int64
	Action      string
	Status      string
	VPC         string
	Subnet      string
	Instance    string
	TCPFlags    int
	Type        string
	PktSrc      string
	PktDst      string
	Region      string
	AZ          string
	SrcService  string
	DstService  string
	Direction   string
	TrafficPath int // 0 = "-"
	ECSCluster  string
	ECSTask     string
}

// Host is an address in the seed VPC with the ENI it uses.
type Host struct {
	IP     string
	ENI    string
	Subnet string
	AZ     string
}

// Hosts of the seed network.
var (
	ALB  = []Host{{"10.0.1.25", "eni-0a1b2c3d4e5f60001", "subnet-0pub1", "use1-az1"}, {"10.0.2.25", "eni-0a1b2c3d4e5f60002", "subnet-0pub2", "use1-az2"}}
	NAT  = Host{"10.0.1.10", "eni-0a1b2c3d4e5f600aa", "subnet-0pub1", "use1-az1"}
	ECS  = []Host{{"10.0.11.50", "eni-0a1b2c3d4e5f60011", "subnet-0priv1", "use1-az1"}, {"10.0.11.51", "eni-0a1b2c3d4e5f60012", "subnet-0priv1", "use1-az1"}, {"10.0.12.50", "eni-0a1b2c3d4e5f60013", "subnet-0priv2", "use1-az2"}, {"10.0.12.51", "eni-0a1b2c3d4e5f60014", "subnet-0priv2", "use1-az2"}}
	RDS  = []Host{{"10.0.21.100", "eni-0a1b2c3d4e5f60021", "subnet-0db1", "use1-az1"}, {"10.0.22.100", "eni-0a1b2c3d4e5f60022", "subnet-0db2", "use1-az2"}}
	VPCE = Host{"10.0.11.200", "eni-0a1b2c3d4e5f600ee", "subnet-0priv1", "use1-az1"}
)

// publicClients are internet addresses that use the ALB (documentation ranges).
var publicClients = []string{"203.0.113.5", "203.0.113.17", "198.51.100.23", "198.51.100.77", "192.0.2.44", "2001:db8::5", "203.0.113.99"}

// awsEndpoints are public AWS service addresses ECS tasks call over HTTPS.
var awsEndpoints = []struct{ IP, Service string }{
	{"52.94.133.131", "AMAZON"}, {"52.216.8.13", "S3"}, {"3.5.0.10", "S3"}, {"52.119.224.10", "DYNAMODB"}, {"54.239.28.85", "AMAZON"},
}

// Generator produces flows. It is not safe for concurrent use.
type Generator struct {
	rng   *rand.Rand
	t     int64 // current start time, Unix seconds
	step  float64
	count int
}

// New returns a generator starting at start, spreading records so that n of
// them cover span (use n=0 for one record per second).
func New(seed uint64, start time.Time, span time.Duration, n int) *Generator {
	step := 1.0
	if n > 0 {
		step = span.Seconds() / float64(n)
	}
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: start.Unix(), step: step}
}

func (g *Generator) pick(n int) int { return g.rng.IntN(n) }

func (g *Generator) ephemeral() int { return 32768 + g.rng.IntN(28232) }

// Next returns the next ordinary (incident-free) flow.
func (g *Generator) Next() Flow {
	g.count++
	start := g.t + int64(float64(g.count)*g.step)
	end := start + int64(g.rng.IntN(60))
	var fl Flow
	switch r := g.rng.IntN(1000); {
	case r < 380: // internet client → ALB 443
		a := ALB[g.pick(len(ALB))]
		fl = g.flow(a, publicClients[g.pick(len(publicClients))], a.IP, g.ephemeral(), 443, "ingress")
		fl.Packets, fl.Bytes = g.volume(4, 2200)
		fl.TrafficPath = 0
	case r < 600: // ALB → ECS service port
		a, e := ALB[g.pick(len(ALB))], ECS[g.pick(len(ECS))]
		port := []int{8000, 8000, 8000, 8002, 5000}[g.pick(5)]
		fl = g.flow(e, a.IP, e.IP, g.ephemeral(), port, "ingress")
		fl.Packets, fl.Bytes = g.volume(6, 1800)
	case r < 760: // ECS → RDS 5432
		e, d := ECS[g.pick(len(ECS))], RDS[g.pick(len(RDS))]
		fl = g.flow(e, e.IP, d.IP, g.ephemeral(), 5432, "egress")
		fl.Packets, fl.Bytes = g.volume(10, 900)
		fl.TrafficPath = 1
	case r < 900: // ECS → AWS APIs over HTTPS via NAT or endpoint
		e := ECS[g.pick(len(ECS))]
		ep := awsEndpoints[g.pick(len(awsEndpoints))]
		fl = g.flow(e, e.IP, ep.IP, g.ephemeral(), 443, "egress")
		fl.Packets, fl.Bytes = g.volume(8, 12000)
		fl.DstService = ep.Service
		fl.TrafficPath = 2
	case r < 960: // internet scanners rejected at the edge
		a := ALB[g.pick(len(ALB))]
		fl = g.flow(a, fmt.Sprintf("198.18.%d.%d", g.pick(256), 1+g.pick(254)), a.IP, g.ephemeral(), []int{22, 23, 3389, 445, 8080, 5432}[g.pick(6)], "ingress")
		fl.Action, fl.Packets, fl.Bytes, fl.TCPFlags = parse.ActionReject, 1, 44+int64(g.pick(20)), 2
	case r < 985: // DNS to the VPC resolver (logged only for non-Amazon resolvers; here the NAT'd one)
		e := ECS[g.pick(len(ECS))]
		fl = g.flow(e, e.IP, "1.1.1.1", g.ephemeral(), 53, "egress")
		fl.Protocol, fl.TCPFlags = 17, 0
		fl.Packets, fl.Bytes = 2, 160
		fl.TrafficPath = 8
	default: // an idle ENI: NODATA, or now and then SKIPDATA
		h := RDS[g.pick(len(RDS))]
		fl = Flow{Version: 5, Account: Account, ENI: h.ENI, Start: start, End: end, Status: parse.StatusNoData,
			VPC: "vpc-0flowq0seed0001", Subnet: h.Subnet, Region: "us-east-1", AZ: h.AZ}
		if g.rng.IntN(10) == 0 {
			fl.Status = parse.StatusSkipData
		}
		return fl
	}
	fl.Start, fl.End = start, end
	return fl
}

func (g *Generator) volume(pkts int, avg int) (int64, int64) {
	p := int64(1 + g.rng.IntN(pkts*2))
	return p, p * int64(40+g.rng.IntN(avg))
}

func (g *Generator) flow(at Host, src, dst string, sport, dport int, dir string) Flow {
	typ := "IPv4"
	if a, err := netip.ParseAddr(src); err == nil && a.Is6() {
		typ = "IPv6"
	}
	return Flow{
		Version: 5, Account: Account, ENI: at.ENI, Src: src, Dst: dst, SrcPort: sport, DstPort: dport,
		Protocol: 6, Action: parse.ActionAccept, Status: parse.StatusOK, VPC: "vpc-0flowq0seed0001", Subnet: at.Subnet,
		TCPFlags: []int{2, 3, 18, 19, 0}[g.pick(5)], Type: typ, PktSrc: src, PktDst: dst, Region: "us-east-1", AZ: at.AZ,
		Direction: dir,
	}
}

// AppendLine appends fl as one line in format fm (no newline). Fields the
// generator does not model are written as "-".
func AppendLine(dst []byte, fm *parse.Format, fl *Flow) []byte {
	data := fl.Status == parse.StatusOK
	for i := 0; i < fm.Len(); i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		num := func(v int64) []byte {
			if !data {
				return append(dst, '-')
			}
			return strconv.AppendInt(dst, v, 10)
		}
		str := func(s string) []byte {
			if s == "" {
				return append(dst, '-')
			}
			return append(dst, s...)
		}
		switch fm.Field(i).Name {
		case "version":
			dst = strconv.AppendInt(dst, int64(fm.Version()), 10)
		case "account-id":
			dst = str(fl.Account)
		case "interface-id":
			dst = str(fl.ENI)
		case "srcaddr":
			dst = str(fl.Src)
		case "dstaddr":
			dst = str(fl.Dst)
		case "srcport":
			dst = num(int64(fl.SrcPort))
		case "dstport":
			dst = num(int64(fl.DstPort))
		case "protocol":
			dst = num(int64(fl.Protocol))
		case "packets":
			dst = num(fl.Packets)
		case "bytes":
			dst = num(fl.Bytes)
		case "start":
			dst = strconv.AppendInt(dst, fl.Start, 10)
		case "end":
			dst = strconv.AppendInt(dst, fl.End, 10)
		case "action":
			dst = str(fl.Action)
		case "log-status":
			dst = str(fl.Status)
		case "vpc-id":
			dst = str(fl.VPC)
		case "subnet-id":
			dst = str(fl.Subnet)
		case "instance-id":
			dst = str(fl.Instance)
		case "tcp-flags":
			dst = num(int64(fl.TCPFlags))
		case "type":
			dst = str(fl.Type)
		case "pkt-srcaddr":
			dst = str(fl.PktSrc)
		case "pkt-dstaddr":
			dst = str(fl.PktDst)
		case "region":
			dst = str(fl.Region)
		case "az-id":
			dst = str(fl.AZ)
		case "pkt-src-aws-service":
			dst = str(fl.SrcService)
		case "pkt-dst-aws-service":
			dst = str(fl.DstService)
		case "flow-direction":
			dst = str(fl.Direction)
		case "traffic-path":
			if fl.TrafficPath == 0 || !data {
				dst = append(dst, '-')
			} else {
				dst = strconv.AppendInt(dst, int64(fl.TrafficPath), 10)
			}
		case "ecs-cluster-name":
			dst = str(fl.ECSCluster)
		case "ecs-task-id":
			dst = str(fl.ECSTask)
		default:
			dst = append(dst, '-')
		}
	}
	return dst
}

// Text returns n ordinary records in format fm, one per line, optionally
// preceded by the format's header line (as in files AWS delivers to S3).
func Text(seed uint64, fm *parse.Format, start time.Time, n int, header bool) []byte {
	g := New(seed, start, 24*time.Hour, n)
	out := make([]byte, 0, n*110)
	if header {
		out = append(out, fm.Header()...)
		out = append(out, '\n')
	}
	for i := 0; i < n; i++ {
		fl := g.Next()
		out = AppendLine(out, fm, &fl)
		out = append(out, '\n')
	}
	return out
}
