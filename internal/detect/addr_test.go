package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// TestAddrTableAgreesWithNetip: the address table's IDs, memberships and
// canonical texts equal those computed with net/netip from the text alone,
// with few prefixes (memberships computed per lookup) and with many (the
// IPv4 cache), for internet peers by the thousand, repeated addresses
// (direct-mapped hits and collisions), IPv6 and texts that are not
// canonical addresses.
func TestAddrTableAgreesWithNetip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, prefixes := range []int{1, v4Direct + 10} {
		t.Run(fmt.Sprint(prefixes, " prefixes"), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Watch = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2600:1f18:4a3::/48")}
			for i := range prefixes - 1 {
				cfg.ExfilAllowDst = append(cfg.ExfilAllowDst, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(50 + i), 0, 0, 0}), 8+i%16))
			}
			tab := newAddrTable(&cfg)
			hot := []string{"10.0.11.50", "10.0.1.25", "52.94.133.131", "1.1.1.1", "2001:db8::5", "::ffff:10.0.0.1"}
			// Long IPv6 texts that differ in few bytes; only those of
			// 2600:1f18:4a3::/48 are watched.
			long := []string{"2600:1f18:4a3:6e00:8c5e:1f6b:31a2:77d4", "2600:1f18:4b3:6e00:8c5e:1f6b:31a2:77d4",
				"2600:1f18:4a3:6e00:8c5e:1f6b:31a9:77d4", "2600:1f18:4a3:6e00:8c5e:1f6c:31a2:77d4"}
			for n := range 50_000 {
				var s string
				switch rng.IntN(6) {
				case 5:
					s = long[rng.IntN(len(long))]
					if rng.IntN(4) == 0 {
						s = fmt.Sprintf("2600:1f18:%x:6e00:8c5e:%x:31a2:%x", rng.IntN(1<<16), rng.IntN(1<<16), rng.IntN(1<<16))
					}
				case 0:
					s = fmt.Sprintf("%d.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256))
				case 1:
					s = []string{"010.0.0.1", "10.0.0", "", "nonsense", "1.2.3.4.5", "256.1.1.1", "fe80::1%eth0"}[rng.IntN(7)]
				case 2:
					s = fmt.Sprintf("%d.%d.0.%d", 50+rng.IntN(prefixes), rng.IntN(256), rng.IntN(256))
				default:
					s = hot[rng.IntN(len(hot))]
				}
				id, flags, ok := tab.lookup(s)
				a, err := netip.ParseAddr(s)
				if ok != (err == nil) {
					t.Fatalf("lookup %d %q: ok %v, netip: %v", n, s, ok, err)
				}
				if !ok {
					continue
				}
				a = a.Unmap().WithZone("")
				if want := tab.flags(a); flags != want {
					t.Fatalf("lookup %q: flags %b, want %b", s, flags, want)
				}
				if got := tab.canon(id); got != a.String() {
					t.Fatalf("lookup %q: canonical %q, want %q", s, got, a.String())
				}
				if a.Is4() && !strings.Contains(s, ":") && id != uint64(v4(a)) {
					t.Fatalf("lookup %q: id %x, want its value", s, id)
				}
			}
		})
	}
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
