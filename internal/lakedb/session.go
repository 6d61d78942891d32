package lakedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/netip"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/flowq/flowq/queries"
)

// OpenSession opens an in-memory DuckDB session with flowq's settings and
// functions but no flows view: the session's time zone is UTC (so
// to_timestamp(start) and every TIMESTAMPTZ prints in UTC, whatever TZ the
// machine has), the macros of queries/macros.sql (in_cidr, ip4_int,
// ip4_subnet, …) and the Go function ip6_in_cidr. It keeps a single
// connection so that everything defined on it is visible to every query.
func OpenSession(ctx context.Context) (*sql.DB, error) {
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, "ip6_in_cidr", ip6InCIDR{}); err != nil {
		db.Close()
		return nil, fmt.Errorf("register ip6_in_cidr: %w", err)
	}
	if _, err := conn.ExecContext(ctx, queries.Macros()); err != nil {
		db.Close()
		return nil, fmt.Errorf("define macros: %w", err)
	}
	return db, nil
}

// ip6InCIDR is ip6_in_cidr(addr VARCHAR, cidr VARCHAR) BOOLEAN: whether
// addr lies in cidr, for any address family, parsed with net/netip. The
// in_cidr macro uses it for IPv6 prefixes. Text that is not an address is
// false; a cidr that is not a prefix or an address is an error.
type ip6InCIDR struct{}

func (ip6InCIDR) Config() duckdb.ScalarFuncConfig {
	v, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	b, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{v, v}, ResultTypeInfo: b}
}

func (ip6InCIDR) Executor() duckdb.ScalarFuncExecutor {
	// DuckDB may call this from several threads at once: no shared state.
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		addr, _ := values[0].(string)
		cidr, _ := values[1].(string)
		pfx, ok := ParseCIDR(cidr)
		if !ok {
			return nil, fmt.Errorf("in_cidr: malformed CIDR %q: want an address or address/bits, such as 2001:db8::/64", cidr)
		}
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return false, nil
		}
		return pfx.Contains(a.Unmap()), nil
	}}
}

// ParseCIDR parses a prefix or a bare address (a /32 or /128), the forms
// in_cidr accepts.
func ParseCIDR(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
