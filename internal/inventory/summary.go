package inventory

import "fmt"

// Summary counts the snapshot's resources in one line, as flowq inventory
// sync reports them: "3 interfaces, 2 subnets, ...".
func (s *Snapshot) Summary() string {
	return fmt.Sprintf("%d interfaces, %d subnets, %d security groups, %d network ACLs, %d route tables, %d NAT gateways, %d VPC endpoints, %d prefix lists",
		len(s.Interfaces), len(s.Subnets), len(s.SecurityGroups), len(s.NetworkACLs), len(s.RouteTables),
		len(s.NATGateways), len(s.VPCEndpoints), len(s.PrefixLists))
}
