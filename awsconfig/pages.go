package awsconfig

import (
	"errors"
	"fmt"
	"hash/maphash"
	"unicode/utf8"
)

// ErrMalformedAnswer is matched (errors.Is) by the errors that say an AWS
// answer was not what its operation returns.
var ErrMalformedAnswer = errors.New("malformed answer")

// Pages catches a paginated listing that would never end. The SDK's
// paginators follow every NextToken an answer carries: an endpoint that
// answers the same token again (or, with StopOnDuplicateToken, silently
// stops the listing as if it were whole), answers tokens that come round
// again (a, b, a, b, ...: the SDK checks only the token of the page
// before), or keeps inventing new ones keeps a listing going forever. A
// token names a place in the listing, so one seen before on any page
// means the listing has come round. Call Next with each page's NextToken
// and stop on its error.
//
// The zero value checks repeated tokens only (it keeps 8 bytes per page
// for it); a Pages is not safe for concurrent use.
type Pages struct {
	// Op names the operation in errors ("DescribeInstances").
	Op string
	// Max, when > 0, is the most pages a correct answer can take.
	Max int

	n    int
	prev string
	seed maphash.Seed
	seen map[uint64]struct{} // the hashes of the tokens seen
}

// Next counts a page whose answer carried the token next (nil or empty at
// the last page) and returns an error matching ErrMalformedAnswer when
// the listing must stop: next repeats the previous page's token or one of
// an earlier page, or there would be more than Max pages.
func (p *Pages) Next(next *string) error {
	p.n++
	if next == nil || *next == "" {
		return nil
	}
	if p.seen == nil {
		p.seed, p.seen = maphash.MakeSeed(), map[uint64]struct{}{}
	}
	// A 64-bit hash of each token: two different tokens of one listing
	// share one by chance with odds under 10^-7 even at a million pages.
	h := maphash.String(p.seed, *next)
	_, again := p.seen[h]
	switch {
	case *next == p.prev:
		return fmt.Errorf("%s answered the same NextToken on two pages in a row (%q): %w", p.Op, clip(*next), ErrMalformedAnswer)
	case again:
		return fmt.Errorf("%s answered a NextToken of an earlier page again (%q), so the listing would go round forever: %w", p.Op, clip(*next), ErrMalformedAnswer)
	case p.Max > 0 && p.n >= p.Max:
		return fmt.Errorf("%s answered more than %d pages: %w", p.Op, p.Max, ErrMalformedAnswer)
	}
	p.seen[h] = struct{}{}
	p.prev = *next
	return nil
}

// clip shortens a token for an error message, on a rune boundary.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
