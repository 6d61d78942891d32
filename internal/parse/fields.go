package parse

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the Arrow type a field is stored as. It follows AWS's own flow-log
// Parquet: int32 for small integers, int64 for counters and times, utf8 for
// everything else.
type Kind uint8

const (
	String Kind = iota // utf8
	Int32              // version, ports, protocol, tcp_flags, traffic_path, encryption_status
	Int64              // packets, bytes, start, end, packets_lost_*
)

// DataType returns the Arrow type of the kind.
func (k Kind) DataType() arrow.DataType {
	switch k {
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Int64:
		return arrow.PrimitiveTypes.Int64
	default:
		return arrow.BinaryTypes.String
	}
}

func (k Kind) String() string {
	switch k {
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	default:
		return "utf8"
	}
}

// Field describes one flow-log field.
type Field struct {
	Name    string // AWS field name as in ${name}, e.g. "tcp-flags"
	Column  string // Parquet/Arrow column name, e.g. "tcp_flags"
	Kind    Kind
	Version int   // the flow-log version that introduced the field
	Max     int64 // largest valid value for integer fields (0 = the type's maximum)
	Known   bool  // false for a column taken from an S3 header that flowq does not know
	check   valueCheck
}

// valueCheck restricts a string field to a closed set of values.
type valueCheck uint8

const (
	anyValue valueCheck = iota
	actionValue
	statusValue
)

// Column names of the fields flowq's own code reads. Other packages use these
// instead of string literals.
const (
	ColVersion          = "version"
	ColAccountID        = "account_id"
	ColInterfaceID      = "interface_id"
	ColSrcAddr          = "srcaddr"
	ColDstAddr          = "dstaddr"
	ColSrcPort          = "srcport"
	ColDstPort          = "dstport"
	ColProtocol         = "protocol"
	ColPackets          = "packets"
	ColBytes            = "bytes"
	ColStart            = "start"
	ColEnd              = "end"
	ColAction           = "action"
	ColLogStatus        = "log_status"
	ColVPCID            = "vpc_id"
	ColSubnetID         = "subnet_id"
	ColInstanceID       = "instance_id"
	ColTCPFlags         = "tcp_flags"
	ColType             = "type"
	ColPktSrcAddr       = "pkt_srcaddr"
	ColPktDstAddr       = "pkt_dstaddr"
	ColFlowDirection    = "flow_direction"
	ColPktDstAWSService = "pkt_dst_aws_service"
	ColPktSrcAWSService = "pkt_src_aws_service"
	ColTrafficPath      = "traffic_path"
)

// Values of the action and log-status fields.
const (
	ActionAccept   = "ACCEPT"
	ActionReject   = "REJECT"
	StatusOK       = "OK"
	StatusNoData   = "NODATA"
	StatusSkipData = "SKIPDATA"
)

func f(name string, kind Kind, version int, max int64) Field {
	return Field{Name: name, Column: ColumnName(name), Kind: kind, Version: version, Max: max, Known: true}
}

// known lists every field of flow-log versions 2 through 11, in AWS's
// documentation order. Version 6 fields are those of Transit Gateway flow logs.
var known = [...]Field{
	f("version", Int32, 2, 0),
	f("account-id", String, 2, 0),
	f("interface-id", String, 2, 0),
	f("srcaddr", String, 2, 0),
	f("dstaddr", String, 2, 0),
	f("srcport", Int32, 2, 65535),
	f("dstport", Int32, 2, 65535),
	f("protocol", Int32, 2, 255),
	f("packets", Int64, 2, 0),
	f("bytes", Int64, 2, 0),
	f("start", Int64, 2, 0),
	f("end", Int64, 2, 0),
	{Name: "action", Column: "action", Kind: String, Version: 2, Known: true, check: actionValue},
	{Name: "log-status", Column: "log_status", Kind: String, Version: 2, Known: true, check: statusValue},
	// v3
	f("vpc-id", String, 3, 0),
	f("subnet-id", String, 3, 0),
	f("instance-id", String, 3, 0),
	f("tcp-flags", Int32, 3, 0),
	f("type", String, 3, 0),
	f("pkt-srcaddr", String, 3, 0),
	f("pkt-dstaddr", String, 3, 0),
	// v4
	f("region", String, 4, 0),
	f("az-id", String, 4, 0),
	f("sublocation-type", String, 4, 0),
	f("sublocation-id", String, 4, 0),
	// v5
	f("pkt-src-aws-service", String, 5, 0),
	f("pkt-dst-aws-service", String, 5, 0),
	f("flow-direction", String, 5, 0),
	f("traffic-path", Int32, 5, 0),
	// v6: Transit Gateway flow logs
	f("resource-type", String, 6, 0),
	f("tgw-id", String, 6, 0),
	f("tgw-attachment-id", String, 6, 0),
	f("tgw-src-vpc-account-id", String, 6, 0),
	f("tgw-dst-vpc-account-id", String, 6, 0),
	f("tgw-src-vpc-id", String, 6, 0),
	f("tgw-dst-vpc-id", String, 6, 0),
	f("tgw-src-subnet-id", String, 6, 0),
	f("tgw-dst-subnet-id", String, 6, 0),
	f("tgw-src-eni", String, 6, 0),
	f("tgw-dst-eni", String, 6, 0),
	f("tgw-src-az-id", String, 6, 0),
	f("tgw-dst-az-id", String, 6, 0),
	f("tgw-pair-attachment-id", String, 6, 0),
	f("packets-lost-no-route", Int64, 6, 0),
	f("packets-lost-blackhole", Int64, 6, 0),
	f("packets-lost-mtu-exceeded", Int64, 6, 0),
	f("packets-lost-ttl-expired", Int64, 6, 0),
	// v7: ECS
	f("ecs-cluster-arn", String, 7, 0),
	f("ecs-cluster-name", String, 7, 0),
	f("ecs-container-instance-arn", String, 7, 0),
	f("ecs-container-instance-id", String, 7, 0),
	f("ecs-container-id", String, 7, 0),
	f("ecs-second-container-id", String, 7, 0),
	f("ecs-service-name", String, 7, 0),
	f("ecs-task-definition-arn", String, 7, 0),
	f("ecs-task-arn", String, 7, 0),
	f("ecs-task-id", String, 7, 0),
	// v8
	f("reject-reason", String, 8, 0),
	// v9
	f("resource-id", String, 9, 0),
	// v10
	f("encryption-status", Int32, 10, 3),
	// v11
	f("instance-tag", String, 11, 0),
	f("instance-tag-2", String, 11, 0),
	f("interface-tag", String, 11, 0),
	f("interface-tag-2", String, 11, 0),
	f("asg-tag", String, 11, 0),
	f("asg-tag-2", String, 11, 0),
	f("interface-type", String, 11, 0),
	f("next-hop-interface-id", String, 11, 0),
	f("next-hop-subnet-id", String, 11, 0),
	f("next-hop-az-id", String, 11, 0),
	f("next-hop-vpc-id", String, 11, 0),
	f("next-hop-interface-type", String, 11, 0),
}

// KnownFields returns every field flowq knows, versions 2 through 11.
func KnownFields() []Field {
	out := make([]Field, len(known))
	copy(out, known[:])
	return out
}

// Lookup returns the known field with the given AWS name ("tcp-flags") or
// column name ("tcp_flags").
func Lookup(name string) (Field, bool) {
	for _, k := range known {
		if k.Name == name || k.Column == name {
			return k, true
		}
	}
	return Field{}, false
}

// ColumnName maps an AWS field name to its Parquet column name.
func ColumnName(name string) string { return strings.ReplaceAll(name, "-", "_") }

// aliases maps names that people (and the seed documents) write for a field
// to the field AWS actually accepts.
var aliases = map[string]string{
	"windowstart": "start",
	"windowend":   "end",
	"starttime":   "start",
	"endtime":     "end",
	"logstatus":   "log-status",
	"status":      "log-status",
	"account":     "account-id",
	"accountid":   "account-id",
	"eni":         "interface-id",
	"src":         "srcaddr",
	"dst":         "dstaddr",
	"direction":   "flow-direction",
}

// suggest returns the known field name closest to an unknown one, or "".
func suggest(name string) string {
	norm := func(s string) string { return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(s)) }
	n := norm(name)
	if a, ok := aliases[n]; ok {
		return a
	}
	best, bestDist := "", 1<<30
	for _, k := range known {
		kn := norm(k.Name)
		if kn == n {
			return k.Name
		}
		d := levenshtein(n, kn)
		if d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	// Only suggest when the names are reasonably close.
	if bestDist <= max(2, len(n)/3) {
		return best
	}
	return ""
}

// levenshtein is the edit distance of a and b (internal/textdist has the
// same few lines: parse imports only the standard library and arrow-go).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
