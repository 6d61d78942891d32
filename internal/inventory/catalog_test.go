package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// netAt is a small network taken at "at"; rule adds an ingress rule to its
// group, so two networks differ.
func netAt(at time.Time, rule ...inventory.SGRule) *inventory.Snapshot {
	return &inventory.Snapshot{
		Version: inventory.SnapshotVersion, Taken: at, Region: "us-east-1", VPCID: "vpc-1",
		Interfaces: []inventory.Interface{{ID: "eni-a", Type: "interface", PrivateIPs: []string{"10.0.11.7"},
			Tags: map[string]string{"Name": "api", "team": "trading", "env": "prod"}}},
		SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1", Name: "api", Ingress: append([]inventory.SGRule{
			{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/16"}}, rule...)}},
		Declared: &inventory.Declaration{Source: "ssm:/flowq/tradai/declared", Read: at,
			SecurityGroups: []inventory.SecurityGroup{{ID: "sg-1", Name: "api"}}},
	}
}

// snapshotNames is the independent answer: the snapshot objects in meta.
func snapshotNames(m *memMeta) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objs {
		if strings.HasPrefix(k, "inventory/") && strings.HasSuffix(k, ".json.gz") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// catalogNames decodes the catalog object by hand. Every entry Save wrote
// has a digest; ones it only listed have none.
func catalogNames(t *testing.T, m *memMeta) []string {
	t.Helper()
	m.mu.Lock()
	data, ok := m.objs[inventory.CatalogName]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	var doc struct {
		Version   int
		Snapshots []struct{ Name, Digest string }
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Version != 1 {
		t.Fatalf("catalog %s: version %d, %v", data, doc.Version, err)
	}
	var out []string
	for _, s := range doc.Snapshots {
		if s.Digest != "" && !strings.HasPrefix(s.Digest, "sha256:") {
			t.Errorf("catalog entry %s: digest %q", s.Name, s.Digest)
		}
		out = append(out, s.Name)
	}
	return out
}

func times(a *inventory.Archive) []string {
	var out []string
	for _, t := range a.Times() {
		out = append(out, inventory.MetaName(t))
	}
	return out
}

// TestRefreshReadsCatalog: with the catalog, opening the archive is one
// GET and no listing (the old code listed on every open: a LIST costs as
// much as twelve GETs), and it names exactly the stored snapshots.
func TestRefreshReadsCatalog(t *testing.T) {
	ctx := context.Background()
	meta := newMemMeta()
	w, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := w.Save(ctx, netAt(t0.Add(time.Duration(i)*time.Hour), inventory.SGRule{Protocol: "tcp", FromPort: i, ToPort: i, CIDR: "0.0.0.0/0"})); err != nil {
			t.Fatal(err)
		}
	}
	want := snapshotNames(meta)
	if got := catalogNames(t, meta); !slices.Equal(got, want) {
		t.Fatalf("catalog %v, want the stored snapshots %v", got, want)
	}
	meta.reads, meta.lists = 0, 0
	r, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	if meta.reads != 1 || meta.lists != 0 {
		t.Errorf("open: %d reads and %d listings, want 1 read (the catalog) and no listing", meta.reads, meta.lists)
	}
	if got := times(r); !slices.Equal(got, want) {
		t.Errorf("archive %v, want %v", got, want)
	}
	// The catalog carries the digests: the next process knows, without
	// reading the newest snapshot, that a sync equal to it adds nothing.
	newest := netAt(t0.Add(3*time.Hour), inventory.SGRule{Protocol: "tcp", FromPort: 2, ToPort: 2, CIDR: "0.0.0.0/0"})
	if st, same, err := r.Unchanged(newest); err != nil || !same || st.Name != want[2] || meta.reads != 1 {
		t.Errorf("unchanged: %+v %v, %v (%d reads); want the newest, with the catalog's read alone", st, same, err, meta.reads)
	}
}

// TestCatalogFallback: a lake whose snapshots were stored before the
// catalog existed, or whose catalog cannot be read, is listed; the next
// Save writes a catalog naming every snapshot.
func TestCatalogFallback(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		catalog string // "" = none
	}{
		{"no catalog (an older lake)", ""},
		{"not json", "{"},
		{"newer version", `{"version":2,"snapshots":[]}`},
		{"entry not a snapshot", `{"version":1,"snapshots":[{"name":"inventory/README","taken":"2026-11-30T10:00:00Z"}]}`},
		{"entry time not its name's", `{"version":1,"snapshots":[{"name":"inventory/20261130T100000.000000000Z.json.gz","taken":"2026-11-30T11:00:00Z"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta := newMemMeta()
			for i := range 2 {
				s := netAt(t0.Add(time.Duration(i)*time.Hour), inventory.SGRule{Protocol: "udp", FromPort: i, ToPort: i, CIDR: "0.0.0.0/0"})
				data, err := inventory.Encode(s)
				if err != nil {
					t.Fatal(err)
				}
				meta.objs[inventory.MetaName(s.Taken)] = data
			}
			if tc.catalog != "" {
				meta.objs[inventory.CatalogName] = []byte(tc.catalog)
			}
			a, err := inventory.OpenArchive(ctx, meta, 1)
			if err != nil {
				t.Fatal(err)
			}
			if meta.lists != 1 {
				t.Errorf("%d listings, want the fallback's 1", meta.lists)
			}
			if got, want := times(a), snapshotNames(meta); !slices.Equal(got, want) {
				t.Fatalf("archive %v, want %v", got, want)
			}
			// The snapshots listed carry no digest: a sync equal to the
			// newest is stored once more, with its digest.
			if _, same, err := a.Unchanged(netAt(t0.Add(2*time.Hour), inventory.SGRule{Protocol: "udp", FromPort: 1, ToPort: 1, CIDR: "0.0.0.0/0"})); err != nil || same {
				t.Errorf("unchanged against an undigested snapshot: %v, %v", same, err)
			}
			if _, err := a.Save(ctx, netAt(t0.Add(2*time.Hour))); err != nil {
				t.Fatal(err)
			}
			if got, want := catalogNames(t, meta), snapshotNames(meta); len(want) != 3 || !slices.Equal(got, want) {
				t.Errorf("catalog after Save %v, want %v", got, want)
			}
			meta.lists = 0
			r, err := inventory.OpenArchive(ctx, meta, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r.Times()); got != 3 || meta.lists != 0 {
				t.Errorf("after the repair: %d snapshots, %d listings; want 3 from the catalog", got, meta.lists)
			}
		})
	}
}

// TestCrashBetweenSnapshotAndCatalog: Save stores the snapshot, then the
// catalog. Failing (crashing) between the two loses nothing for good:
// without a catalog the readers list; with an older catalog the snapshot is
// missing from it until the next Save, which the next sync makes (its
// network differs from the catalog's newest), and which names it again.
func TestCrashBetweenSnapshotAndCatalog(t *testing.T) {
	ctx := context.Background()
	crash := errors.New("crashed")
	failCatalog := func(name string) error {
		if name == inventory.CatalogName {
			return crash
		}
		return nil
	}
	sshOpen := inventory.SGRule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}

	t.Run("first save", func(t *testing.T) {
		meta := newMemMeta()
		meta.failPut = failCatalog
		a, _ := inventory.OpenArchive(ctx, meta, 1)
		_, err := a.Save(ctx, netAt(t0))
		if !errors.Is(err, crash) || !strings.Contains(err.Error(), "stored, its catalog") {
			t.Fatalf("save: %v", err)
		}
		r, err := inventory.OpenArchive(ctx, meta, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Times()); got != 1 {
			t.Errorf("reader after the crash: %d snapshots, want the listed 1", got)
		}
	})

	t.Run("later save", func(t *testing.T) {
		meta := newMemMeta()
		a, _ := inventory.OpenArchive(ctx, meta, 1)
		if _, err := a.Save(ctx, netAt(t0)); err != nil {
			t.Fatal(err)
		}
		meta.failPut = failCatalog
		if _, err := a.Save(ctx, netAt(t0.Add(time.Hour), sshOpen)); !errors.Is(err, crash) {
			t.Fatalf("save: %v", err)
		}
		meta.failPut = nil
		if got := len(snapshotNames(meta)); got != 2 {
			t.Fatalf("%d snapshot objects, want 2 (the crash came after the snapshot)", got)
		}
		// The next sync (a new process) sees the same network as the lost
		// entry's: not unchanged against the catalog's newest, so stored.
		next, err := inventory.OpenArchive(ctx, meta, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(next.Times()); got != 1 {
			t.Errorf("stale catalog: %d snapshots, want 1 until the next save", got)
		}
		if _, stored, err := next.SaveChanged(ctx, netAt(t0.Add(2*time.Hour), sshOpen)); err != nil || !stored {
			t.Fatalf("next sync: stored %v, %v", stored, err)
		}
		if got, want := catalogNames(t, meta), snapshotNames(meta); len(want) != 3 || !slices.Equal(got, want) {
			t.Errorf("repaired catalog %v, want every snapshot %v", got, want)
		}
		// In force at 10:30 again: the snapshot the crash left out.
		r, _ := inventory.OpenArchive(ctx, meta, 1)
		x, err := r.AsOf(ctx, t0.Add(90*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !x.Snap.Taken.Equal(t0.Add(time.Hour)) {
			t.Errorf("as of 11:30: the snapshot of %v, want 11:00's", x.Snap.Taken)
		}
	})
}

// TestUnchangedStoresNothing: a sync equal to the newest snapshot (only the
// times differ, maps built in another order) stores nothing, and the newest
// at or before any time still answers; a change is stored, and so is a
// change back (it differs from the newest).
func TestUnchangedStoresNothing(t *testing.T) {
	ctx := context.Background()
	meta := newMemMeta()
	a, _ := inventory.OpenArchive(ctx, meta, 2)
	first, stored, err := a.SaveChanged(ctx, netAt(t0))
	if err != nil || !stored {
		t.Fatalf("first: %v, %v", stored, err)
	}
	again := netAt(t0.Add(15 * time.Minute))
	again.Interfaces[0].Tags = map[string]string{"env": "prod", "team": "trading", "Name": "api"}
	puts := meta.puts
	st, stored, err := a.SaveChanged(ctx, again)
	if err != nil || stored || st != first || meta.puts != puts {
		t.Fatalf("unchanged: %+v stored %v (%d writes), %v; want %+v and nothing written", st, stored, meta.puts-puts, err, first)
	}
	ssh := inventory.SGRule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"}
	for i, s := range []*inventory.Snapshot{netAt(t0.Add(30*time.Minute), ssh), netAt(t0.Add(45 * time.Minute))} {
		if _, stored, err := a.SaveChanged(ctx, s); err != nil || !stored {
			t.Fatalf("change %d: stored %v, %v", i, stored, err)
		}
	}
	for _, tc := range []struct {
		at   time.Duration
		want time.Duration // the snapshot in force
		ssh  bool
	}{{20 * time.Minute, 0, false}, {30 * time.Minute, 30 * time.Minute, true}, {50 * time.Minute, 45 * time.Minute, false}} {
		x, err := a.AsOf(ctx, t0.Add(tc.at))
		if err != nil {
			t.Fatal(err)
		}
		if !x.Snap.Taken.Equal(t0.Add(tc.want)) || (len(x.Snap.SecurityGroups[0].Ingress) == 2) != tc.ssh {
			t.Errorf("as of +%v: snapshot of %v, want +%v (ssh open %v)", tc.at, x.Snap.Taken, tc.want, tc.ssh)
		}
	}
}

// TestDigest: only the times are left out; any other difference counts.
func TestDigest(t *testing.T) {
	base, err := inventory.Digest(netAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*inventory.Snapshot)
		same   bool
	}{
		{"taken and read later", func(s *inventory.Snapshot) { s.Taken = s.Taken.Add(time.Hour); s.Declared.Read = s.Taken }, true},
		{"region", func(s *inventory.Snapshot) { s.Region = "eu-west-1" }, false},
		{"a port", func(s *inventory.Snapshot) { s.SecurityGroups[0].Ingress[0].ToPort = 444 }, false},
		{"a tag value", func(s *inventory.Snapshot) { s.Interfaces[0].Tags["env"] = "dev" }, false},
		{"declared source", func(s *inventory.Snapshot) { s.Declared.Source = "ssm:/flowq/other/declared" }, false},
		{"no declared rules", func(s *inventory.Snapshot) { s.Declared = nil }, false},
		{"declared rules changed", func(s *inventory.Snapshot) { s.Declared.SecurityGroups[0].Name = "web" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := netAt(t0)
			tc.change(s)
			d, err := inventory.Digest(s)
			if err != nil {
				t.Fatal(err)
			}
			if (d == base) != tc.same {
				t.Errorf("digest equal %v, want %v", d == base, tc.same)
			}
		})
	}
}

// TestSaveReplaces: a snapshot saved again under the same time replaces the
// one held in memory too.
func TestSaveReplaces(t *testing.T) {
	ctx := context.Background()
	a, _ := inventory.OpenArchive(ctx, newMemMeta(), 2)
	if _, err := a.Save(ctx, netAt(t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AsOf(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Save(ctx, netAt(t0, inventory.SGRule{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0"})); err != nil {
		t.Fatal(err)
	}
	x, err := a.AsOf(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(x.Snap.SecurityGroups[0].Ingress); got != 2 || len(a.Times()) != 1 {
		t.Errorf("after saving again: %d rules, %d snapshots; want the new 2 rules, 1 snapshot", got, len(a.Times()))
	}
}
