package awsconfig_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/diffy-dfir/diffy/awsconfig"
)

func TestPages(t *testing.T) {
	tok := func(s string) *string { return aws.String(s) }
	for _, c := range []struct {
		name   string
		max    int
		tokens []*string
		stopAt int // index of the page whose Next fails; -1: none
	}{
		{"whole listing", 0, []*string{tok("a"), tok("b"), nil}, -1},
		{"empty last token", 0, []*string{tok("a"), tok("")}, -1},
		{"token repeated", 0, []*string{tok("a"), tok("b"), tok("b")}, 2},
		// Tokens that come round again: the listing would go round forever
		// (an endpoint answering a, b, a, b, ... never repeats the token of
		// the page before).
		{"tokens in a cycle", 0, []*string{tok("a"), tok("b"), tok("a"), tok("b")}, 2},
		{"a token again much later", 0, []*string{tok("a"), tok("b"), tok("c"), tok("d"), tok("e"), tok("a")}, 5},
		{"within Max", 3, []*string{tok("a"), tok("b"), nil}, -1},
		{"past Max", 3, []*string{tok("a"), tok("b"), tok("c"), tok("d")}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := awsconfig.Pages{Op: "ListThings", Max: c.max}
			stop := -1
			for i, next := range c.tokens {
				if err := p.Next(next); err != nil {
					if !errors.Is(err, awsconfig.ErrMalformedAnswer) {
						t.Fatalf("page %d: %v does not match ErrMalformedAnswer", i, err)
					}
					stop = i
					break
				}
			}
			if stop != c.stopAt {
				t.Errorf("stopped at page %d, want %d", stop, c.stopAt)
			}
		})
	}
}
