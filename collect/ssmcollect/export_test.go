package ssmcollect

// WithLiveHook has the Collector call f with the bytes of output each read
// brings into memory (positive) and with those it lets go of (negative),
// so that a test can count the bytes held at once against the read
// budget.
func WithLiveHook(f func(delta int64)) Option { return func(o *options) { o.liveHook = f } }
