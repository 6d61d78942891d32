package synth

import (
	"cmp"
	"slices"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// DetectFormat is the seed VPC's flow-log format plus the version 3-5 fields
// the detectors use (pkt-* addresses, pkt-dst-aws-service, flow-direction).
// Incidents and scenarios are written in it.
var DetectFormat = parse.MustParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
	"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${tcp-flags} ${type} " +
	"${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service} ${flow-direction}")

// Incident is a known anomaly: its flows and the alerts the detectors must
// raise for it with their default settings.
type Incident struct {
	Name   string
	Flows  []Flow
	Alerts []Expected
}

// Expected is an alert an incident must raise. Detector is detect's name
// for it ("exfiltration", "reject", "portscan"); Dst is "" for reject
// alerts, which are per source.
type Expected struct {
	Detector string
	Src, Dst string
}

// Addresses of the incidents.
const (
	ExfilDst   = "203.0.113.77"   // receives the exfiltrated 1.4 MB
	C2Addr     = "198.51.100.200" // the database host tries to reach it
	ExfilBytes = 1_400_000
)

func incidentFlow(at Host, src, dst string, sport, dport int, start time.Time, dur int64, pkts, bytes int64, action, dir string, flags int) Flow {
	return Flow{
		Version: 5, Account: Account, ENI: at.ENI, Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Protocol: 6,
		Packets: pkts, Bytes: bytes, Start: start.Unix(), End: start.Unix() + dur, Action: action, Status: parse.StatusOK,
		VPC: "vpc-0flowq0seed0001", Subnet: at.Subnet, TCPFlags: flags, Type: "IPv4", PktSrc: src, PktDst: dst,
		Region: "us-east-1", AZ: at.AZ, Direction: dir,
	}
}

// ECSRejects returns an ECS task (10.0.11.51) whose connections to the
// database tier on ports it is not allowed (SSH, MySQL, Redis) are rejected
// by the database security group: 5 REJECT records over 4 minutes, logged
// on the task's ENI.
func ECSRejects(start time.Time) []Flow {
	task, db1, db2 := ECS[1], RDS[0], RDS[1]
	var out []Flow
	for i, t := range []struct {
		dst  Host
		port int
	}{{db1, 22}, {db1, 22}, {db2, 3306}, {db1, 6379}, {db2, 3306}} {
		out = append(out, incidentFlow(task, task.IP, t.dst.IP, 41000+i*7, t.port, start.Add(time.Duration(i)*time.Minute), 5, 2, 120,
			parse.ActionReject, "egress", 2))
	}
	return out
}

// DatabaseEgress returns a database-tier host (10.0.21.100) trying the
// internet, which its security group and route table deny: 3 REJECT records
// to 198.51.100.200 on 443 and 4444.
func DatabaseEgress(start time.Time) []Flow {
	db := RDS[0]
	var out []Flow
	for i, port := range []int{443, 4444, 443} {
		out = append(out, incidentFlow(db, db.IP, C2Addr, 50100+i, port, start.Add(time.Duration(i)*90*time.Second), 3, 3, 180,
			parse.ActionReject, "egress", 2))
	}
	return out
}

// Exfiltration returns an ECS task (10.0.11.50) sending 1.4 MB to an
// internet host (203.0.113.77:443) through the NAT gateway, over 7 records
// of 200,000 bytes within 7 minutes: no single record crosses the 1 MB
// threshold, their sum does.
func Exfiltration(start time.Time) []Flow {
	task := ECS[0]
	var out []Flow
	for i := range 7 {
		out = append(out, incidentFlow(task, task.IP, ExfilDst, 43512, 443, start.Add(time.Duration(i)*time.Minute), 59, 140,
			ExfilBytes/7, parse.ActionAccept, "egress", 0))
	}
	return out
}

// ScanPorts are the ports PortScan probes.
var ScanPorts = []int{21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200}

// PortScan returns an ECS task (10.0.12.51) probing 20 ports of a database
// host (10.0.21.100) with SYNs within a minute: 5432 is accepted (the
// security group allows it), the other 19 are rejected.
func PortScan(start time.Time) []Flow {
	task, db := ECS[3], RDS[0]
	var out []Flow
	for i, port := range ScanPorts {
		action := parse.ActionReject
		if port == 5432 {
			action = parse.ActionAccept
		}
		out = append(out, incidentFlow(task, task.IP, db.IP, 45000+i, port, start.Add(time.Duration(i)*3*time.Second), 1, 1, 60,
			action, "egress", 2))
	}
	return out
}

// Incidents returns the four incidents, each starting at its own offset
// after start (all within 40 minutes), with the alerts they must raise.
func Incidents(start time.Time) []Incident {
	return []Incident{
		{Name: "ecs-rejects", Flows: ECSRejects(start.Add(2 * time.Minute)),
			Alerts: []Expected{{"reject", ECS[1].IP, ""}}},
		{Name: "database-egress", Flows: DatabaseEgress(start.Add(11 * time.Minute)),
			Alerts: []Expected{{"reject", RDS[0].IP, ""}}},
		{Name: "exfiltration", Flows: Exfiltration(start.Add(17 * time.Minute)),
			Alerts: []Expected{{"exfiltration", ECS[0].IP, ExfilDst}}},
		{Name: "port-scan", Flows: PortScan(start.Add(31 * time.Minute)),
			Alerts: []Expected{{"portscan", ECS[3].IP, RDS[0].IP}, {"reject", ECS[3].IP, ""}}},
	}
}

// Scenario returns n ordinary records spread over span from start with the
// incidents injected at incidentsAt, all in format fm (ordered by start
// time, as AWS roughly delivers them), preceded by the header line, and the
// incidents.
func Scenario(seed uint64, fm *parse.Format, start time.Time, span time.Duration, n int, incidentsAt time.Time) ([]byte, []Incident) {
	g := New(seed, start, span, n)
	flows := make([]Flow, 0, n+64)
	for range n {
		flows = append(flows, g.Next())
	}
	inc := Incidents(incidentsAt)
	for _, in := range inc {
		flows = append(flows, in.Flows...)
	}
	slices.SortStableFunc(flows, func(a, b Flow) int { return cmp.Compare(a.Start, b.Start) })
	out := append([]byte(fm.Header()), '\n')
	for i := range flows {
		out = AppendLine(out, fm, &flows[i])
		out = append(out, '\n')
	}
	return out, inc
}
