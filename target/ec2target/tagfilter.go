package ec2target

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Limits of ParseTagFilter.
const (
	// MaxTagKeys is the most distinct tag keys in one filter. It is the
	// limit of SSM's tag Targets, so a filter that works here also works
	// there.
	MaxTagKeys = 5
	// MaxTagValues is the most values one key may list.
	MaxTagValues = 50
	// MaxTagKeyLen and MaxTagValueLen are EC2's limits on tag keys and
	// values, in bytes here (EC2 counts Unicode characters; bytes are the
	// stricter count).
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
)

// TagFilter is one tag key and the values it may have (any of them). An
// empty Values means the tag must exist, with any value.
type TagFilter struct {
	Key    string
	Values []string
}

// ParseTagFilter parses a tag key of the form "k=v,k2=v2":
//
//   - pairs are separated by commas; a pair is KEY=VALUE, split at the
//     first '=', so a value may contain '=' but no pair can contain ',';
//   - spaces around each key and value are trimmed;
//   - a key repeated lists alternatives: "env=prod,env=staging" matches
//     either value; distinct keys must all match;
//   - a pair without '=' ("team") matches instances that have the tag,
//     whatever its value; it cannot be mixed with values for the same key;
//   - EC2 treats '*' and '?' in values as wildcards.
//
// The filters are returned in the order their keys first appear, each value
// once. An empty key, an empty element, a control character, more than
// MaxTagKeys keys or MaxTagValues values for a key, or a key or value over
// EC2's length limits is an error matching diffyerr.ErrInvalidKey that names
// the element.
func ParseTagFilter(s string) ([]TagFilter, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tag filter %q: %s: %w", s, fmt.Sprintf(format, args...), diffyerr.ErrInvalidKey)
	}
	if strings.TrimSpace(s) == "" {
		return nil, bad("empty (want k=v,k2=v2)")
	}
	var out []TagFilter
	index := map[string]int{}
	anyValue := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "":
			return nil, bad("element %d has an empty key", i+1)
		case len(k) > MaxTagKeyLen:
			return nil, bad("element %d: key is longer than %d bytes", i+1, MaxTagKeyLen)
		case len(v) > MaxTagValueLen:
			return nil, bad("element %d: value is longer than %d bytes", i+1, MaxTagValueLen)
		case hasControl(k) || hasControl(v):
			return nil, bad("element %d contains a control character", i+1)
		case hasValue && v == "":
			return nil, bad("element %d (%s=) has an empty value; write %s alone to match any value", i+1, k, k)
		}
		j, seen := index[k]
		if !seen {
			if len(out) == MaxTagKeys {
				return nil, bad("more than %d tag keys", MaxTagKeys)
			}
			j = len(out)
			index[k] = j
			out = append(out, TagFilter{Key: k})
			anyValue[k] = !hasValue
		} else if anyValue[k] != !hasValue {
			return nil, bad("key %q is given both alone and with a value", k)
		}
		if !hasValue {
			continue
		}
		dup := false
		for _, have := range out[j].Values {
			dup = dup || have == v
		}
		if !dup {
			if len(out[j].Values) == MaxTagValues {
				return nil, bad("key %q has more than %d values", k, MaxTagValues)
			}
			out[j].Values = append(out[j].Values, v)
		}
	}
	return out, nil
}

// hasControl reports whether s holds a control character: C0, DEL or C1
// (U+0080-U+009F, such as NEL and CSI, which terminals act on too).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
