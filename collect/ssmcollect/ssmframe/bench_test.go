package ssmframe_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
)

// BenchmarkBoundDecode is what the collector does with each S3 output:
// Bound, then Decode, of a host's gzip+base64 stdout (about 50 KB of
// osquery JSON rows, as the bench/ssm fleet's).
func BenchmarkBoundDecode(b *testing.B) {
	const m = "DIFFY-0123456789abcdef0123456789abcdef"
	var js strings.Builder
	js.WriteString("[\n")
	for i := range 300 {
		fmt.Fprintf(&js, `  {"cmdline":"/usr/sbin/daemon-%d --config /etc/d%d.conf","name":"daemon-%d","path":"/usr/sbin/daemon-%d","pid":"%d","start_time":"%d"},`+"\n", i%40, i, i%40, i%40, 1000+i, 1700000000+i*7)
	}
	js.WriteString("]\n")
	stream := ssmframe.AppendFrame(nil, m, "processes", 0, []byte(js.String()))
	stdout := ssmframe.AppendOutput(nil, m, ssmframe.EncodingGzip, stream)
	b.SetBytes(int64(len(stdout)))
	b.ReportAllocs()
	for b.Loop() {
		bound := ssmframe.Bound(stdout, m)
		if st, ok := ssmframe.Decode(stdout, m, bound); !ok || !st.Whole {
			b.Fatalf("not decoded whole: %+v", st.Problem)
		}
	}
}
