package ec2sync

import (
	"context"
	"errors"

	"github.com/flowq/flowq/internal/inventory"
)

// SyncTo reads the network (Sync) and stores it as a snapshot in meta (the
// lake's inventory archive), returning the snapshot and its stored name. A
// snapshot whose declared rules could not be read is stored without them,
// and the error (wrapping ErrDeclared) returned with its name.
func SyncTo(ctx context.Context, api EC2, meta inventory.MetaStore, opts Options) (inventory.Snapshot, string, error) {
	snap, err := Sync(ctx, api, opts)
	declErr := err
	if err != nil && !errors.Is(err, ErrDeclared) {
		return snap, "", err
	}
	arch, err := inventory.OpenArchive(ctx, meta, 1)
	if err != nil {
		return snap, "", err
	}
	name, err := arch.Save(ctx, &snap)
	if err != nil {
		return snap, "", err
	}
	return snap, name, declErr
}
