package collect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// checkpointVersion is the version of the checkpoint's layout: 2 added the
// records held for the next run (version 1, without, is read too).
const checkpointVersion = 2

// checkpoint is what one run leaves for the next: written last, so a run
// that fails anywhere before leaves the previous one, and the next run
// redoes the same work under the same batch ids.
type checkpoint struct {
	Version int `json:"version"`
	// Seq counts the checkpoints written; a run's late batches are named
	// by the Seq it read, so a retried run rewrites them.
	Seq int64 `json:"seq"`
	// Done is the start (Unix seconds) of the last slot done: the records
	// that started before its end are stored; 0 before the first run.
	Done int64 `json:"done"`
	// Objects are the delivered objects already ingested, within the
	// lateness horizon, sorted by key.
	Objects []seen `json:"objects"`
	// HeldBytes is the length of held, which follows the header.
	HeldBytes int `json:"held_bytes,omitempty"`
	// held is the records read from the objects already ingested that
	// start in slots not done yet (slots.encode): the next run stores
	// them with their slot.
	held []byte
	// state is the detector state (detect.MemoryState.MarshalBinary).
	state []byte
	// version is the stored checkpoint's (store.Lake.GetMetaVersion; ""
	// before the first): a run writes only over the checkpoint it read.
	version string
}

// seen is one ingested object.
type seen struct {
	Key  string `json:"key"`
	ETag string `json:"etag"`
	Slot int64  `json:"slot"` // the slot it was ingested in, Unix seconds
}

// encode returns the checkpoint as stored: zstd of the JSON header's
// length (uvarint), the header, the records held, then the detector state.
func (c *checkpoint) encode() ([]byte, error) {
	c.Version = checkpointVersion
	c.HeldBytes = len(c.held)
	slices.SortFunc(c.Objects, func(a, b seen) int { return strings.Compare(a.Key, b.Key) })
	head, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	raw := binary.AppendUvarint(make([]byte, 0, len(head)+len(c.held)+len(c.state)+10), uint64(len(head)))
	raw = append(append(append(raw, head...), c.held...), c.state...)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(raw, nil), nil
}

// errCheckpoint wraps every decoding failure.
var errCheckpoint = errors.New("collector checkpoint")

func decodeCheckpoint(data []byte) (*checkpoint, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCheckpoint, err)
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n > uint64(len(raw)-k) {
		return nil, fmt.Errorf("%w: bad header length", errCheckpoint)
	}
	var c checkpoint
	d := json.NewDecoder(bytes.NewReader(raw[k : k+int(n)]))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: header: %w", errCheckpoint, err)
	}
	if c.Version != 1 && c.Version != checkpointVersion {
		return nil, fmt.Errorf("%w: version %d, want 1 to %d", errCheckpoint, c.Version, checkpointVersion)
	}
	rest := raw[k+int(n):]
	if c.HeldBytes < 0 || c.HeldBytes > len(rest) {
		return nil, fmt.Errorf("%w: held records: %d bytes of %d", errCheckpoint, c.HeldBytes, len(rest))
	}
	c.held, c.state = rest[:c.HeldBytes], rest[c.HeldBytes:]
	return &c, nil
}
