// Package invdb exposes an inventory snapshot to SQL: tables interfaces,
// subnets, security_group_rules, network_acl_entries and prefix_lists in a DuckDB
// session (internal/lakedb), so queries can put names next to addresses and
// measure which rules flows used. The tables always exist; without a
// snapshot they are empty.
package invdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// schema creates the tables. Ports are -1 where a rule has none and
// protocol is an IANA number, -1 for all.
const schema = `
CREATE OR REPLACE TABLE interfaces (
    address VARCHAR, eni VARCHAR, name VARCHAR, interface_type VARCHAR, instance_id VARCHAR,
    subnet_id VARCHAR, subnet_name VARCHAR, vpc_id VARCHAR, security_groups VARCHAR[],
    description VARCHAR, nat BOOLEAN, snapshot_taken TIMESTAMPTZ);
CREATE OR REPLACE TABLE subnets (
    subnet_id VARCHAR, name VARCHAR, vpc_id VARCHAR, az VARCHAR, cidr VARCHAR, snapshot_taken TIMESTAMPTZ);
CREATE OR REPLACE TABLE security_group_rules (
    group_id VARCHAR, group_name VARCHAR, direction VARCHAR, protocol INTEGER, from_port INTEGER, to_port INTEGER,
    cidr VARCHAR, peer_group VARCHAR, prefix_list VARCHAR, description VARCHAR, rule VARCHAR);
CREATE OR REPLACE TABLE prefix_lists (prefix_list VARCHAR, name VARCHAR, cidr VARCHAR);
CREATE OR REPLACE TABLE network_acl_entries (
    acl_id VARCHAR, acl_name VARCHAR, subnet_id VARCHAR, direction VARCHAR, rule_number INTEGER, action VARCHAR,
    protocol INTEGER, from_port INTEGER, to_port INTEGER, cidr VARCHAR);
`

// Register creates the tables in db from the snapshot in force at t (zero:
// the newest) of the archive in meta. A lake without snapshots gives empty
// tables.
func Register(ctx context.Context, db *sql.DB, meta inventory.MetaStore, t time.Time) error {
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		return err
	}
	x, err := arch.AsOf(ctx, t)
	if errors.Is(err, inventory.ErrNoSnapshot) {
		if _, err := db.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("inventory tables: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return Fill(ctx, db, x)
}

// Fill creates the tables from the snapshot indexed by x.
func Fill(ctx context.Context, db *sql.DB, x *inventory.Index) error {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("inventory tables: %w", err)
	}
	s := x.Snap
	taken := s.Taken.UTC()
	var rows [][]any
	for i := range s.Interfaces {
		ifc := &s.Interfaces[i]
		subName := ""
		if sub := x.Subnet(ifc.SubnetID); sub != nil {
			subName = sub.Name
		}
		groups := ifc.SecurityGroups
		if groups == nil {
			groups = []string{}
		}
		for _, list := range [][]string{ifc.PrivateIPs, ifc.IPv6, ifc.PublicIPs} {
			for _, a := range list {
				rows = append(rows, []any{a, ifc.ID, x.Name(ifc), ifc.Type, ifc.InstanceID, ifc.SubnetID, subName, ifc.VPCID,
					listLiteral(groups), ifc.Description, x.IsNAT(ifc.ID), taken})
			}
		}
	}
	if err := insert(ctx, db, "interfaces", "?, ?, ?, ?, ?, ?, ?, ?, ?::VARCHAR[], ?, ?, ?", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, sub := range s.Subnets {
		for _, c := range sub.CIDRs {
			rows = append(rows, []any{sub.ID, sub.Name, sub.VPCID, sub.AZ, c, taken})
		}
	}
	if err := insert(ctx, db, "subnets", "?, ?, ?, ?, ?, ?", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, g := range s.SecurityGroups {
		for _, dir := range []struct {
			name  string
			rules []inventory.SGRule
		}{{"ingress", g.Ingress}, {"egress", g.Egress}} {
			for _, r := range dir.rules {
				proto, _ := inventory.ProtocolNumber(r.Protocol)
				rows = append(rows, []any{g.ID, g.Name, dir.name, proto, r.FromPort, r.ToPort, r.CIDR, r.Group, r.PrefixList, r.Description,
					RuleText(g, r, dir.name)})
			}
		}
	}
	if err := insert(ctx, db, "security_group_rules", "?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''), nullif(?, ''), ?, ?", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, a := range s.NetworkACLs {
		subs := a.Subnets
		if len(subs) == 0 {
			subs = []string{""}
		}
		for _, sub := range subs {
			for _, e := range a.Entries {
				proto, _ := inventory.ProtocolNumber(e.Protocol)
				dir, action := "ingress", "deny"
				if e.Egress {
					dir = "egress"
				}
				if e.Allow {
					action = "allow"
				}
				rows = append(rows, []any{a.ID, a.Name, sub, dir, e.Number, action, proto, e.FromPort, e.ToPort, e.CIDR})
			}
		}
	}
	if err := insert(ctx, db, "network_acl_entries", "?, ?, nullif(?, ''), ?, ?, ?, ?, ?, ?, ?", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for _, pl := range s.PrefixLists {
		for _, c := range pl.CIDRs {
			rows = append(rows, []any{pl.ID, pl.Name, c})
		}
	}
	return insert(ctx, db, "prefix_lists", "?, ?, ?", rows)
}

// RuleText names a security-group rule in one line, as unused-rules
// reports it: "sg-0ecs (tradai-ecs-sg) egress tcp 5432 to sg-0rds".
func RuleText(g inventory.SecurityGroup, r inventory.SGRule, dir string) string {
	peer, word := r.CIDR, "from"
	if dir == "egress" {
		word = "to"
	}
	if r.Group != "" {
		peer = r.Group
	}
	if r.PrefixList != "" {
		peer = r.PrefixList
	}
	ports := ""
	switch {
	case r.Protocol == "-1":
	case r.FromPort == r.ToPort && r.FromPort >= 0:
		ports = fmt.Sprintf(" %d", r.FromPort)
	case r.FromPort >= 0:
		ports = fmt.Sprintf(" %d-%d", r.FromPort, r.ToPort)
	}
	proto := r.Protocol
	if proto == "-1" {
		proto = "all"
	}
	return fmt.Sprintf("%s (%s) %s %s%s %s %s", g.ID, g.Name, dir, proto, ports, word, peer)
}

// listLiteral spells a string list as a DuckDB list literal, for a
// ?::VARCHAR[] parameter.
func listLiteral(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// insert adds rows to table in multi-row INSERTs of at most 500 rows, in
// one transaction.
func insert(ctx context.Context, db *sql.DB, table, placeholders string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("fill %s: %w", table, err)
	}
	defer tx.Rollback()
	for len(rows) > 0 {
		n := min(len(rows), 500)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " VALUES ")
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholders + ")")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("fill %s: %w", table, err)
		}
		rows = rows[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fill %s: %w", table, err)
	}
	return nil
}
