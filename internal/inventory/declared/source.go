package declared

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flowq/flowq/internal/inventory"
)

// ErrPath is returned by Source for a path that is neither auto, none nor
// an SSM path.
var ErrPath = errors.New("want an SSM path such as " + Root + "/tradai/declared, auto or none")

// Source returns the declaration a sync attaches to its snapshot
// (ec2sync.Options.Declared) for path:
//   - "none" or "": none (nil);
//   - an SSM path: the rules published there;
//   - "auto": every deployment published under Root, keeping the one that
//     declares the synced network's groups (Choose). Several such: an error
//     wrapping ErrAmbiguous. None readable, or none naming the synced groups:
//     no declaration, and warn says why.
func Source(ctx context.Context, api SSM, path string, now func() time.Time, warn func(string)) (func(context.Context, *inventory.Snapshot) (*inventory.Declaration, error), error) {
	switch path {
	case "none", "":
		return nil, nil
	case "auto":
		paths, err := Discover(ctx, api)
		if err != nil {
			warn(fmt.Sprintf("declared rules not read, so no drift report (%v); pass --declared PATH, or --declared none", err))
			return nil, nil
		}
		if len(paths) == 0 {
			return nil, nil
		}
		return func(ctx context.Context, s *inventory.Snapshot) (*inventory.Declaration, error) {
			var cands []*inventory.Declaration
			for _, p := range paths {
				d, err := Read(ctx, api, p, now())
				if err != nil {
					return nil, err
				}
				cands = append(cands, d)
			}
			d, err := Choose(cands, s)
			if d == nil && err == nil {
				warn(fmt.Sprintf("declared rules under %s name none of the synced groups: no drift report (--declared PATH attaches one anyway)", strings.Join(paths, ", ")))
			}
			return d, err
		}, nil
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("%q: %w", path, ErrPath)
	}
	return func(ctx context.Context, _ *inventory.Snapshot) (*inventory.Declaration, error) {
		return Read(ctx, api, path, now())
	}, nil
}
