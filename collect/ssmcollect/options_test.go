package ssmcollect_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// TestOptionsOutOfRange checks that New refuses a setting out of its
// range, naming it, instead of quietly using another value (a batch of 51
// is not cut to 50, a 10 s delivery timeout is not stretched to 30 s).
func TestOptionsOutOfRange(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1"} // New makes clients; it calls nothing
	for _, c := range []struct {
		opt  ssmcollect.Option
		name string
	}{
		{ssmcollect.WithBatchSize(0), "batch size"},
		{ssmcollect.WithBatchSize(ssmcollect.MaxBatchSize + 1), "batch size"},
		{ssmcollect.WithBatchSize(-1), "batch size"},
		{ssmcollect.WithBatchConcurrency(0), "batch concurrency"},
		{ssmcollect.WithReadConcurrency(-2), "read concurrency"},
		{ssmcollect.WithTimeouts(10*time.Second, 0), "delivery timeout"},
		{ssmcollect.WithTimeouts(-time.Minute, 0), "delivery timeout"},
		{ssmcollect.WithTimeouts(0, 500*time.Millisecond), "execution timeout"},
		{ssmcollect.WithPollInterval(0), "poll interval"},
		{ssmcollect.WithGrace(-time.Second), "grace"},
	} {
		_, err := ssmcollect.NewFromConfig(cfg, c.opt)
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s out of range: NewFromConfig = %v; want ErrInvalidInput naming it", c.name, err)
		}
	}
	for _, opt := range []ssmcollect.Option{
		ssmcollect.WithBatchSize(1), ssmcollect.WithBatchSize(ssmcollect.MaxBatchSize),
		ssmcollect.WithTimeouts(ssmcollect.MinDeliveryTimeout, ssmcollect.MinExecutionTimeout),
		ssmcollect.WithTimeouts(0, 0), nil,
	} {
		if _, err := ssmcollect.NewFromConfig(cfg, opt); err != nil {
			t.Errorf("a setting at the edge of its range: %v", err)
		}
	}
}
