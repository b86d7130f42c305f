package awsfake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
)

func TestNewRefusesOptionsOutOfRange(t *testing.T) {
	for _, c := range []struct {
		opt  awsfake.Option
		want string
	}{
		{awsfake.WithRunTime(-time.Second), "run time -1s is negative"},
		{awsfake.WithConsistencyDelay(-time.Millisecond), "consistency delay -1ms is negative"},
		{awsfake.WithFaults(awsfake.Faults{BigOutputBytes: -1}), "big output of -1 bytes is negative"},
	} {
		srv, err := awsfake.New(c.opt)
		if err == nil {
			srv.Close()
			t.Errorf("New accepted an option that should fail with %q", c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("New: %v, want %q", err, c.want)
		}
	}
	// Later options win; nil ones are skipped; the defaults fill the rest.
	srv, err := awsfake.New(awsfake.WithRegion("eu-west-1"), nil, awsfake.WithRegion("eu-north-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.Region() != "eu-north-1" || srv.Account() != awsfake.DefaultAccount {
		t.Errorf("region %q account %q, want eu-north-1 and the default", srv.Region(), srv.Account())
	}
}
