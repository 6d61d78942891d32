package inventory

import "time"

// Declaration is the security groups and network ACLs a deployment declares
// (flowq's CDK app publishes them under /flowq/<app>/declared; see
// internal/inventory/declared), in the snapshot's own types and with the
// physical IDs CloudFormation gave them. Stored with a snapshot, it is what
// internal/inventory/drift compares the snapshot's live rules against.
type Declaration struct {
	Source         string          `json:"source"` // where it was read, e.g. ssm:/flowq/tradai/declared
	Read           time.Time       `json:"read"`
	SecurityGroups []SecurityGroup `json:"security_groups"`
	NetworkACLs    []NetworkACL    `json:"network_acls"`
}
