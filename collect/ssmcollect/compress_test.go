package ssmcollect_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// TestAPIModeNoCut: in API mode, outputs over SSM's 24,000 characters are
// compressed on the hosts; the commands still cut are collected again
// alone, and only a command whose output is over the budget alone, even
// compressed, is truncated, with the hint, and never parsed. Big outputs
// are padded with white space that gzip keeps a quarter to a third of.
func TestAPIModeNoCut(t *testing.T) {
	cases := []struct {
		name      string
		bytes     int  // each osquery output of the big hosts
		truncated bool // even alone
	}{
		// The fake's gzip keeps 35% of the padding: 36 KiB is 17,200
		// characters of base64 alone, 6 of them are 100,000 together.
		{"fits-alone", 36 << 10, false},
		{"over-alone", 160 << 10, true}, // 76,000 characters alone
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 60, awsfake.WithFaults(awsfake.Faults{Seed: 1, BigOutput: 0.05, BigOutputBytes: c.bytes}))
			big := map[string]bool{}
			for _, id := range e.srv.Selected(awsfake.FaultBigOutput) {
				big[id] = true
			}
			if len(big) == 0 {
				t.Fatal("no big-output host: the case tests nothing")
			}
			col := e.collector(t, "")
			insts := e.fleet.Instances()
			res, err := col.Collect(context.Background(), insts, payload.StandardPack())
			if err != nil {
				t.Fatal(err)
			}
			by := e.check(t, insts, res, func(r collect.Result) error {
				if !big[r.InstanceID] || !c.truncated {
					return success(r)
				}
				if r.Status != collect.StatusFailed || !r.Truncated || r.Rows != nil ||
					!strings.Contains(r.Error, "even compressed and collected alone") || !strings.Contains(r.Error, "--output-bucket") {
					return fmt.Errorf("want Truncated with the hint, not parsed")
				}
				return nil
			})
			cc := e.srv.Calls()
			// One SendCommand per batch, plus one per (batch, command) for
			// the commands collected again alone.
			t.Logf("statuses %v; calls%s", by, calls(e.srv))
			if n := cc["ssm:SendCommand"].Calls; n <= 2 || n > 2+2*int64(len(payload.StandardPack())) {
				t.Errorf("%d SendCommand calls, want 2 and at most one more per batch and command", n)
			}
		})
	}
}

// TestCompressionFallback: a host without gzip (or base64) prints its
// output plainly, and is collected the same; with compression off, every
// host does.
func TestCompressionFallback(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("compression=", on), func(t *testing.T) {
			e := newEnv(t, 10)
			// The fleet's hosts are rebuilt without gzip on half of them.
			var insts []awsfake.Instance
			for i, h := range e.fleet.Hosts {
				in := awsfake.Instance{Instance: h.Instance, Host: newCachedHost(&e.fleet.Hosts[i])}
				if i%2 == 0 {
					in.Without = []string{"gzip"}
				}
				insts = append(insts, in)
			}
			srv, err := awsfake.New(awsfake.WithInstances(insts...))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			e.srv, e.cfg = srv, srv.Config()
			col := e.collector(t, "", ssmcollect.WithCompression(on))
			res, err := col.Collect(context.Background(), e.fleet.Instances(), payload.StandardPack())
			if err != nil {
				t.Fatal(err)
			}
			e.check(t, e.fleet.Instances(), res, success)
			sent := srv.SentCommands()
			if got := strings.Contains(sent[0].Script, "gzip"); got != on {
				t.Errorf("script mentions gzip: %v, want %v", got, on)
			}
		})
	}
}

// forgingS3 is what another host of the batch can do in S3 mode: with its
// own role it may write anywhere in the output prefix, so before the
// victim's object is read it replaces it with the victim's own output
// less one row, validly framed with the batch's marker (which every host
// of the batch is sent) and with a digest of its own.
type forgingS3 struct {
	inner  *s3.Client
	victim string // instance ID
	mu     sync.Mutex
	forged bool
	drop   string // the processes row's name dropped
}

func (f *forgingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(key, "/"+f.victim+"/") && strings.HasSuffix(key, "/stdout") && !f.forged {
		obj, err := f.inner.GetObject(ctx, in, opts...)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(obj.Body)
		obj.Body.Close()
		orig := b.Bytes()
		marker := string(orig[:len("DIFFY-")+32])
		st, ok := ssmframe.Decode(orig, marker, 1<<30)
		if !ok {
			return nil, fmt.Errorf("forging: no header in %q", orig[:min(len(orig), 80)])
		}
		ids := []string{}
		for _, c := range payload.StandardPack() {
			ids = append(ids, c.ID)
		}
		sp := ssmframe.Split(st.Data, st.Data, marker, ids)
		var stream []byte
		for _, id := range ids {
			fr := sp.Frames[id]
			out := fr.Stdout
			if id == payload.Processes {
				// Drop the first row.
				lines := bytes.SplitAfter(out, []byte("\n"))
				if len(lines) > 3 {
					f.drop = string(lines[1])
					lines = append(lines[:1], lines[2:]...)
				}
				out = bytes.Join(lines, nil)
			}
			stream = ssmframe.AppendErrFrame(stream, marker, id, fr.ExitCode, fr.Stderr)
			stream = ssmframe.AppendFrame(stream, marker, id, fr.ExitCode, out)
		}
		stream = ssmframe.AppendDone(stream, marker)
		forged := ssmframe.AppendOutput(nil, marker, st.Encoding, stream)
		if _, err := f.inner.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key, Body: bytes.NewReader(forged)}, opts...); err != nil {
			return nil, err
		}
		f.forged = true
	}
	return f.inner.GetObject(ctx, in, opts...)
}

// TestS3TamperDetected is the attack of issue 10.2: host A overwrites host
// B's stdout object with a forged, validly framed output (a malicious row
// gone). B's Results must not be a Success: the object does not match
// what B reported through SSM, which A cannot forge. The other hosts are
// unaffected.
func TestS3TamperDetected(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("compression=", on), func(t *testing.T) {
			e := newEnv(t, 12)
			const bucket = "diffy-tamper"
			e.collector(t, bucket) // creates the bucket
			victim := e.fleet.Hosts[5].Instance.ID
			s3c := s3.NewFromConfig(e.cfg, e.srv.S3Options)
			forger := &forgingS3{inner: s3c, victim: victim}
			cl := ssmcollect.Clients{Send: ssm.NewFromConfig(e.cfg), List: ssm.NewFromConfig(e.cfg), Get: ssm.NewFromConfig(e.cfg),
				Cancel: ssm.NewFromConfig(e.cfg), Describe: ssm.NewFromConfig(e.cfg), S3: forger}
			col, err := ssmcollect.New(cl, ssmcollect.WithOutputBucket(bucket, "out"), ssmcollect.WithCompression(on),
				ssmcollect.WithPollInterval(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			insts := e.fleet.Instances()
			res, err := col.Collect(context.Background(), insts, payload.StandardPack())
			if err != nil {
				t.Fatal(err)
			}
			if !forger.forged {
				t.Fatal("the victim's object was never read: the case tests nothing")
			}
			e.check(t, insts, res, func(r collect.Result) error {
				if r.InstanceID != victim {
					return success(r)
				}
				if r.Status == collect.StatusSuccess || !strings.Contains(r.Error, "not the output the instance reported through SSM") {
					return fmt.Errorf("the forged object was accepted (dropped row %q)", forger.drop)
				}
				return nil
			})
		})
	}
}

// success wants every Result to succeed.
func success(r collect.Result) error {
	if r.Status != collect.StatusSuccess {
		return fmt.Errorf("want Success")
	}
	return nil
}

// bombHost prints, for every query, a JSON array padded with n spaces:
// gzip turns it into a few kilobytes that claim n bytes.
type bombHost int

func (n bombHost) Output(string) ([]byte, bool) {
	b := make([]byte, 0, int(n)+4)
	b = append(b, '[')
	b = append(b, bytes.Repeat([]byte{' '}, int(n))...)
	return append(b, "]\n"...), true
}

// TestDecompressionCapped: output that decompresses past
// collect.Limits.MaxBytes is cut there while decoding (a host's few
// kilobytes of gzip can claim gigabytes), and the Result says so, never
// parsed; with a read budget smaller than one output, reads go one at a
// time and the run ends.
func TestDecompressionCapped(t *testing.T) {
	const max = 256 << 10
	var insts []awsfake.Instance
	for i := 0; i < 6; i++ {
		insts = append(insts, awsfake.Instance{Instance: target.Instance{ID: fmt.Sprintf("i-%017x", 0xb0b0+i)}, Host: bombHost(4 << 20)})
	}
	e, tis := newHostsEnv(t, insts)
	col := e.collector(t, "diffy-bomb", ssmcollect.WithLimits(collect.Limits{MaxBytes: max}), ssmcollect.WithReadBudget(64<<10))
	res, err := col.Collect(context.Background(), tis, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != collect.StatusFailed || !r.Truncated || r.Rows != nil || !strings.Contains(r.Error, "cap") {
			t.Errorf("%s %s: %s truncated=%v %q; want Failed, truncated at the cap", r.InstanceID, r.CommandID, r.Status, r.Truncated, r.Error)
		}
	}
}
