// Package benchref holds the reference implementations flowq's benchmarks
// measure themselves against in the same run: a plain standard-library
// flow-log parser (bufio + strings.Fields + strconv into structs), the way
// most hand-written tools do it.
package benchref

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Record is a flow-log record as a typical hand-written tool keeps it.
type Record struct {
	Version               int
	AccountID, ENI        string
	SrcAddr, DstAddr      string
	SrcPort, DstPort      int
	Protocol              int
	Packets, Bytes        int64
	Start, End            int64
	Action, LogStatus     string
	VPC, Subnet, Instance string
	TCPFlags              int
	Type                  string
	PktSrc, PktDst        string
	Other                 map[string]string
}

// Stdlib parses flow-log text in the given field order (AWS names, such as
// "srcaddr" or "tcp-flags") with bufio, strings.Fields and strconv, calling
// fn for each record. Header lines (starting with "version") are skipped.
func Stdlib(r io.Reader, fields []string, fn func(*Record)) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		toks := strings.Fields(sc.Text())
		if len(toks) == 0 || toks[0] == "version" {
			continue
		}
		if len(toks) != len(fields) {
			return n, fmt.Errorf("line %d: %d fields, want %d", n+1, len(toks), len(fields))
		}
		var rec Record
		for i, name := range fields {
			v := toks[i]
			var err error
			switch name {
			case "version":
				rec.Version, err = atoi(v)
			case "account-id":
				rec.AccountID = v
			case "interface-id":
				rec.ENI = v
			case "srcaddr":
				rec.SrcAddr = v
			case "dstaddr":
				rec.DstAddr = v
			case "srcport":
				rec.SrcPort, err = atoi(v)
			case "dstport":
				rec.DstPort, err = atoi(v)
			case "protocol":
				rec.Protocol, err = atoi(v)
			case "packets":
				rec.Packets, err = atoi64(v)
			case "bytes":
				rec.Bytes, err = atoi64(v)
			case "start":
				rec.Start, err = atoi64(v)
			case "end":
				rec.End, err = atoi64(v)
			case "action":
				rec.Action = v
			case "log-status":
				rec.LogStatus = v
			case "vpc-id":
				rec.VPC = v
			case "subnet-id":
				rec.Subnet = v
			case "instance-id":
				rec.Instance = v
			case "tcp-flags":
				rec.TCPFlags, err = atoi(v)
			case "type":
				rec.Type = v
			case "pkt-srcaddr":
				rec.PktSrc = v
			case "pkt-dstaddr":
				rec.PktDst = v
			default:
				if rec.Other == nil {
					rec.Other = make(map[string]string)
				}
				rec.Other[name] = v
			}
			if err != nil {
				return n, fmt.Errorf("line %d: %s: %w", n+1, name, err)
			}
		}
		fn(&rec)
		n++
	}
	return n, sc.Err()
}

func atoi(s string) (int, error) {
	if s == "-" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

func atoi64(s string) (int64, error) {
	if s == "-" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, 64)
}
