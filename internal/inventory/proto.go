package inventory

import "strconv"

// ProtocolNumber returns the IANA number of a protocol as the EC2 API spells
// it ("tcp", "udp", "icmp", "icmpv6", "-1" or a number); -1 means all.
func ProtocolNumber(p string) (int, bool) {
	switch p {
	case "-1", "all", "":
		return -1, true
	case "tcp":
		return 6, true
	case "udp":
		return 17, true
	case "icmp":
		return 1, true
	case "icmpv6":
		return 58, true
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < -1 || n > 255 {
		return 0, false
	}
	return n, true
}
