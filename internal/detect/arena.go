package detect

// arena hands out small slices carved from shared chunks, so that a new
// accumulator's first ports, evidence rows and port tries cost no
// allocation of their own. A slice appended beyond its capacity moves to
// the heap as usual; chunks live as long as a slice uses them.
type arena[T any] struct {
	chunk []T
}

// take returns an empty slice with capacity n.
func (a *arena[T]) take(n int) []T {
	if n <= 0 {
		return nil
	}
	if cap(a.chunk)-len(a.chunk) < n {
		a.chunk = make([]T, 0, max(4096, n))
	}
	at := len(a.chunk)
	a.chunk = a.chunk[:at+n]
	return a.chunk[at : at : at+n]
}
