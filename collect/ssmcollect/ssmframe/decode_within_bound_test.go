package ssmframe_test

import (
	"crypto/rand"
	"encoding/hex"
	"runtime"
	"testing"

	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
)

// TestDecodeWithinBound: what Decode allocates for a gzip+base64 stdout
// beyond the stdout itself is at most what Bound told the caller to
// reserve (plus slack), since ssmcollect reserves exactly Bound.
func TestDecodeWithinBound(t *testing.T) {
	const m = "DIFFY-0123456789abcdef0123456789abcdef"
	raw := make([]byte, 4<<20) // incompressible: gzip+base64 is 1.33x bigger
	rand.Read(raw)
	stream := ssmframe.AppendFrame(nil, m, "x", 0, []byte(hex.EncodeToString(raw)))
	stdout := ssmframe.AppendOutput(nil, m, ssmframe.EncodingGzip, stream)
	bound := ssmframe.Bound(stdout, m)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	st, ok := ssmframe.Decode(stdout, m, bound)
	runtime.ReadMemStats(&m1)
	got := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("stdout %d bytes, Bound %d, Decode allocated %d (%.2fx Bound), whole %v", len(stdout), bound, got, float64(got)/float64(bound), st.Whole && ok)
	if got > uint64(bound)+uint64(bound)/8 {
		t.Errorf("Decode allocated %d bytes, over the %d Bound reserves", got, bound)
	}
}
