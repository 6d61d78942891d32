package lakedb_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/flowq/flowq/internal/lakedb"
)

func openSession(t *testing.T) *sql.DB {
	t.Helper()
	db, err := lakedb.OpenSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestInCIDR(t *testing.T) {
	db := openSession(t)
	yes := sql.NullBool{Bool: true, Valid: true}
	no := sql.NullBool{Valid: true}
	tests := []struct {
		addr, cidr any
		want       sql.NullBool
	}{
		{"10.0.11.5", "10.0.11.0/24", yes},
		{"10.0.110.5", "10.0.11.0/24", no}, // what LIKE '10.0.11%' gets wrong
		{"10.0.11.255", "10.0.11.0/24", yes},
		{"10.0.12.0", "10.0.11.0/24", no},
		{"10.0.11.5", "10.0.11.77/24", yes}, // host bits ignored
		{"203.0.113.77", "0.0.0.0/0", yes},
		{"10.0.11.5", "10.0.11.5/32", yes},
		{"10.0.11.6", "10.0.11.5/32", no},
		{"10.0.11.5", "10.0.11.5", yes}, // bare address = /32
		{"255.255.255.255", "255.0.0.0/8", yes},
		{"10.0.11.256", "10.0.0.0/8", no}, // not an address
		{"10.0.11", "10.0.0.0/8", no},
		{"2001:db8::5", "2001:db8::/64", yes},
		{"2001:db8:0:1::5", "2001:db8::/64", no},
		{"2001:DB8:0:0:0:0:0:5", "2001:db8::/64", yes}, // non-canonical text
		{"2001:db8::5", "::/0", yes},
		{"2001:db8::5", "10.0.0.0/8", no}, // other family
		{"10.0.11.5", "2001:db8::/64", no},
		{"::ffff:10.0.11.5", "10.0.11.0/24", no}, // IPv4 prefix: IPv4 text only
		{"-", "10.0.11.0/24", sql.NullBool{}},
		{"-", "2001:db8::/64", sql.NullBool{}},
		{nil, "10.0.11.0/24", sql.NullBool{}},
		{"10.0.11.5", nil, sql.NullBool{}},
	}
	for _, tt := range tests {
		var got sql.NullBool
		if err := db.QueryRow("SELECT in_cidr(?::VARCHAR, ?::VARCHAR)", tt.addr, tt.cidr).Scan(&got); err != nil {
			t.Fatalf("in_cidr(%v, %v): %v", tt.addr, tt.cidr, err)
		}
		if got != tt.want {
			t.Errorf("in_cidr(%v, %v) = %+v, want %+v", tt.addr, tt.cidr, got, tt.want)
		}
	}
	var subnet string
	if err := db.QueryRow("SELECT ip4_subnet('10.0.11.77', 24) || ' ' || ip4_subnet('2001:db8::1', 24) || ' ' || ip4_subnet('10.0.11.77', 0)").Scan(&subnet); err != nil {
		t.Fatal(err)
	}
	if want := "10.0.11.0/24 2001:db8::1 0.0.0.0/0"; subnet != want {
		t.Errorf("ip4_subnet = %q, want %q", subnet, want)
	}
}

// TestInCIDRMalformed: a CIDR that is not one is an error naming it, not
// false (the old macro answered false, so a typo silently matched nothing).
// It is an error also as a literal, with addresses from a table.
func TestInCIDRMalformed(t *testing.T) {
	db := openSession(t)
	for _, cidr := range []string{"10.0.11.0/33", "10.0.11/24", "10.0.11.0/", "10.0.11.0/2x", "10.0.11.0/24/1", "ten", "", "-", "2001:db8::/129", "2001:zz8::/64", "10.0.0.0/-1"} {
		var got sql.NullBool
		err := db.QueryRow("SELECT in_cidr('10.0.11.5', ?::VARCHAR)", cidr).Scan(&got)
		if err == nil || !strings.Contains(err.Error(), "malformed CIDR") {
			t.Errorf("in_cidr('10.0.11.5', %q) = %+v, %v; want a malformed CIDR error", cidr, got, err)
		}
	}
	var n int
	err := db.QueryRow("SELECT count(*) FROM (VALUES ('10.0.11.5'), ('10.0.12.5')) t(a) WHERE in_cidr(a, '10.0.11.0/33')").Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "10.0.11.0/33") {
		t.Errorf("literal: count = %d, %v; want an error naming the CIDR", n, err)
	}
	// Every good CIDR is no error, also for the address '-' and NULL.
	if err := db.QueryRow("SELECT count(*) FROM (VALUES ('-'), (NULL), ('10.0.11.5')) t(a) WHERE in_cidr(a, '10.0.0.0/8') OR in_cidr(a, '10.0.11.5') OR in_cidr(a, '0.0.0.0/0')").Scan(&n); err != nil || n != 1 {
		t.Errorf("good CIDRs: count = %d, %v; want 1", n, err)
	}
}
