package ec2sync

import (
	"context"
	"errors"

	"github.com/flowq/flowq/internal/inventory"
)

// SyncTo reads the network (Sync) and stores it as a snapshot in meta (the
// lake's inventory archive) unless it equals the newest stored one
// (inventory.Archive.SaveChanged). It returns the snapshot read, the stored
// snapshot in force (the new one, or the newest when nothing changed) and
// whether it stored one. A snapshot whose declared rules could not be read
// is stored without them, and the error (wrapping ErrDeclared) returned
// with its entry.
func SyncTo(ctx context.Context, api EC2, meta inventory.MetaStore, opts Options) (inventory.Snapshot, inventory.Stored, bool, error) {
	snap, err := Sync(ctx, api, opts)
	declErr := err
	if err != nil && !errors.Is(err, ErrDeclared) {
		return snap, inventory.Stored{}, false, err
	}
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		return snap, inventory.Stored{}, false, err
	}
	st, stored, err := arch.SaveChanged(ctx, &snap)
	if err != nil {
		return snap, inventory.Stored{}, false, err
	}
	return snap, st, stored, declErr
}
