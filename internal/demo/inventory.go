package demo

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/inventory"
	"github.com/flowq/flowq/internal/inventory/resolve"
	"github.com/flowq/flowq/internal/policy"
	"github.com/flowq/flowq/internal/store"
	"github.com/flowq/flowq/internal/synth"
)

// detectors stores the demo network's inventory snapshot in the lake, as
// flowq inventory sync would for a real VPC (the demo has no AWS), and
// returns the detectors with it: alerts name their resources, records on
// the NAT instance's interface are left out, the policy detector runs.
func detectors(ctx context.Context, lake *store.Lake, cfg detect.Config, day time.Time) (*detect.Contextual, error) {
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		return nil, err
	}
	if _, err := arch.Save(ctx, inventory.DemoSnapshot(day.Add(-time.Hour))); err != nil {
		return nil, err
	}
	return resolve.Contextual(lake, cfg, detect.NewMemoryState(), time.Now, resolve.Options{})
}

// explainRejected prints flowq explain for the ECS task's rejected SSH
// connection to the database (the ecs-rejects incident): which layer and
// rule stopped it.
func explainRejected(ctx context.Context, out io.Writer, lake *store.Lake, day time.Time) error {
	arch, err := inventory.OpenArchive(ctx, lake, 1)
	if err != nil {
		return err
	}
	x, err := arch.AsOf(ctx, day.Add(14*time.Hour))
	if err != nil {
		return err
	}
	src, dst := synth.ECS[1].IP, synth.RDS[0].IP
	res, err := policy.Evaluate(x, policy.Query{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DstPort: 22, Protocol: 6})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n   flowq explain --src %s --dst %s --dst-port 22   # why the ECS task's SSH to the database was rejected\n\n", src, dst)
	var b strings.Builder
	if err := res.WriteText(&b); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		switch line {
		case "":
		case "\n":
			fmt.Fprint(out, line)
		default:
			fmt.Fprint(out, "   "+line)
		}
	}
	return nil
}
