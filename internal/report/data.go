package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/flowq/flowq/internal/detect"
)

// Data is everything the report shows, chart by chart. Times are UTC; T
// fields are bucket starts in Unix seconds.
type Data struct {
	Title     string        `json:"title"`
	Source    string        `json:"source,omitempty"`
	Generated time.Time     `json:"generated"`
	Since     time.Time     `json:"since"`
	Until     time.Time     `json:"until"`
	Bucket    time.Duration `json:"bucket"`
	Summary   Summary       `json:"summary"`
	// Traffic is the accepted and rejected flows and bytes per bucket, one
	// point per bucket of the range (zeros included); Previous is the same
	// over the previous period of equal length, moved onto this one.
	Traffic  []TrafficPoint `json:"traffic"`
	Previous []TrafficPoint `json:"previous"`
	// Direction is the bytes per bucket by flow direction and traffic path.
	Direction []DirectionPoint `json:"direction"`
	Pairs     []Pair           `json:"pairs"`
	Hosts     []Host           `json:"hosts"`
	Sankey    []Link           `json:"sankey"`
	Heatmap   Heatmap          `json:"heatmap"`
	Health    []Interface      `json:"health"`
	Alerts    []detect.Alert   `json:"alerts"`
}

// Summary says what the report holds.
type Summary struct {
	Records    int64 `json:"records"`
	OK         int64 `json:"ok"`
	NoData     int64 `json:"nodata"`
	SkipData   int64 `json:"skipdata"`
	Accepted   int64 `json:"accepted"`
	Rejected   int64 `json:"rejected"`
	Bytes      int64 `json:"bytes"`
	Packets    int64 `json:"packets"`
	Interfaces int64 `json:"interfaces"`
	// First and Last are the first and last record starts (Unix seconds),
	// 0 without records.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Versions are the flow-log versions of the records (0: no version field).
	Versions []int `json:"versions"`
	// WithDirection, WithPath and WithService count the records that carry
	// flow-direction, traffic-path and pkt-dst-aws-service.
	WithDirection int64 `json:"with_direction"`
	WithPath      int64 `json:"with_path"`
	WithService   int64 `json:"with_service"`
}

// TrafficPoint is one bucket of accepted and rejected traffic.
type TrafficPoint struct {
	T           int64 `json:"t"`
	AcceptFlows int64 `json:"accept_flows"`
	RejectFlows int64 `json:"reject_flows"`
	AcceptBytes int64 `json:"accept_bytes"`
	RejectBytes int64 `json:"reject_bytes"`
}

// DirectionPoint is the bytes of one bucket in one direction and path.
// Direction is "ingress", "egress" or "" (not in the format); Path is
// AWS's traffic-path code, 0 when absent.
type DirectionPoint struct {
	T         int64  `json:"t"`
	Direction string `json:"direction"`
	Path      int    `json:"path"`
	Bytes     int64  `json:"bytes"`
}

// Pair is a source and destination with the traffic between them.
type Pair struct {
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	SrcName string `json:"src_name,omitempty"`
	DstName string `json:"dst_name,omitempty"`
	Bytes   int64  `json:"bytes"`
	Packets int64  `json:"packets"`
	Flows   int64  `json:"flows"`
}

// Host is an address with the bytes it sent and received.
type Host struct {
	Addr     string `json:"addr"`
	Name     string `json:"name,omitempty"`
	Sent     int64  `json:"sent"`
	Received int64  `json:"received"`
	Flows    int64  `json:"flows"`
}

// Link is the traffic from a source group to a destination group: a /24
// of private addresses, "internet", or "AWS <service>".
type Link struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Bytes int64  `json:"bytes"`
	Flows int64  `json:"flows"`
}

// Heatmap is the rejected records per destination port (rows, busiest
// first) and hour of day (UTC, columns 0-23).
type Heatmap struct {
	Rows []HeatRow `json:"rows"`
}

// HeatRow is one port's rejected records by hour of day.
type HeatRow struct {
	Port     int       `json:"port"`
	Protocol int       `json:"protocol"`
	Hours    [24]int64 `json:"hours"`
	Total    int64     `json:"total"`
}

// Interface is one network interface's log health.
type Interface struct {
	ENI      string `json:"eni"`
	Status   string `json:"status"` // OK, NODATA, SKIPDATA or SILENT
	OK       int64  `json:"ok"`
	NoData   int64  `json:"nodata"`
	SkipData int64  `json:"skipdata"`
	First    int64  `json:"first"`
	Last     int64  `json:"last"`
	// Strip has one character per bucket: '.' no record, 'o' OK only,
	// 'n' NODATA (no OK), 's' SKIPDATA.
	Strip string `json:"strip"`
}

// sortAlerts orders alerts by window start, detector, source, destination.
func sortAlerts(as []detect.Alert) {
	slices.SortStableFunc(as, func(x, y detect.Alert) int {
		return cmp.Or(x.WindowStart.Compare(y.WindowStart), cmp.Compare(x.Detector, y.Detector),
			cmp.Compare(x.Src, y.Src), cmp.Compare(x.Dst, y.Dst))
	})
}

// PathName names AWS's traffic-path code, "" for an unknown one.
func PathName(p int) string {
	switch p {
	case 1:
		return "same VPC"
	case 2:
		return "internet or gateway endpoint"
	case 3:
		return "virtual private gateway"
	case 4:
		return "intra-region peering"
	case 5:
		return "inter-region peering"
	case 6:
		return "local gateway"
	case 7:
		return "gateway endpoint"
	case 8:
		return "internet gateway"
	}
	return ""
}
