package synth

import (
	"fmt"
	"time"

	"github.com/flowq/flowq/internal/parse"
)

// InternetPeers returns n records in format fm spread over the day from
// day, each with a distinct internet address: half of them ECS tasks
// calling the address on 443 (ACCEPT), half the address probing a load
// balancer on 22, 3389 or 445 (REJECT). The high-cardinality input of the
// detectors' benchmarks and tests.
func InternetPeers(fm *parse.Format, day time.Time, n int) []byte {
	var out []byte
	for i := range n {
		at := day.Unix() + int64(i)*86400/int64(max(n, 1))
		peer := fmt.Sprintf("%d.%d.%d.%d", 100+i%100, (i/100)%250, (i/25000)%250, 1+i%250)
		e := ECS[i%len(ECS)]
		f := Flow{Version: 5, Account: Account, ENI: e.ENI, Src: e.IP, Dst: peer, SrcPort: 40000 + i%20000, DstPort: 443,
			Protocol: 6, Packets: 12, Bytes: 9000, Start: at, End: at + 20, Action: "ACCEPT", Status: "OK", VPC: "vpc-0flowq0seed0001",
			Subnet: e.Subnet, Type: "IPv4", PktSrc: e.IP, PktDst: peer, Direction: "egress"}
		if i%2 == 1 {
			a := ALB[i%len(ALB)]
			f = Flow{Version: 5, Account: Account, ENI: a.ENI, Src: peer, Dst: a.IP, SrcPort: 40000 + i%20000, DstPort: []int{22, 3389, 445}[i%3],
				Protocol: 6, Packets: 1, Bytes: 44, Start: at, End: at + 20, Action: "REJECT", Status: "OK", VPC: "vpc-0flowq0seed0001",
				Subnet: a.Subnet, TCPFlags: 2, Type: "IPv4", PktSrc: peer, PktDst: a.IP, Direction: "ingress"}
		}
		out = append(AppendLine(out, fm, &f), '\n')
	}
	return out
}
