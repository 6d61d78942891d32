package ec2sync

import (
	"context"

	"github.com/flowq/flowq/internal/inventory"
)

// SyncTo reads the network (Sync) and stores it as a snapshot in meta (the
// lake's inventory archive), returning the snapshot and its stored name.
func SyncTo(ctx context.Context, api EC2, meta inventory.MetaStore, opts Options) (inventory.Snapshot, string, error) {
	snap, err := Sync(ctx, api, opts)
	if err != nil {
		return snap, "", err
	}
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		return snap, "", err
	}
	name, err := arch.Save(ctx, &snap)
	return snap, name, err
}
