package lakedb

import "github.com/flowq/flowq/internal/store"

// WithListed returns opts with a hook Open calls with each listing it
// makes, before it links or downloads any of it.
func WithListed(opts Options, listed func([]store.Object) error) Options {
	opts.listed = listed
	return opts
}
