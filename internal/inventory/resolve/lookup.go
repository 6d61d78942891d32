package resolve

import (
	"context"

	"github.com/flowq/flowq/internal/inventory"
)

// lookup asks Lookup once per key and remembers the answer, found or not,
// in a bounded cache (oldest out first). Failures are remembered as
// "none" too: an unreachable API costs one timeout per interface, not one
// per alert. Callers asking about the same key at once share one call.
func (r *Resolver) lookup(eni, addr string) *inventory.Interface {
	key := eni
	if key == "" {
		key = "addr:" + addr
	}
	r.mu.Lock()
	if ifc, ok := r.cache[key]; ok {
		r.mu.Unlock()
		return ifc
	}
	r.mu.Unlock()
	v, _, _ := r.inflight.Do(key, func() (any, error) {
		r.mu.Lock()
		if ifc, ok := r.cache[key]; ok { // answered since the check above
			r.mu.Unlock()
			return ifc, nil
		}
		r.calls++
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
		defer cancel()
		ifc, err := r.opts.Lookup(ctx, eni, addr)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.failed++
			r.log.Warn("interface lookup failed: naming by address only", "eni", eni, "addr", addr, "err", err)
			ifc = nil
		}
		if _, ok := r.cache[key]; !ok {
			r.order = append(r.order, key)
		}
		r.cache[key] = ifc
		for len(r.order) > r.opts.CacheSize {
			delete(r.cache, r.order[0])
			r.order = r.order[1:]
		}
		return ifc, nil
	})
	return v.(*inventory.Interface)
}
