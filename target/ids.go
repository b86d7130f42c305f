package target

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// MaxIDs is the most instance IDs ParseIDs accepts in one key.
const MaxIDs = 100000

// ParseIDs splits a key of comma-separated instance IDs ("i-1,i-2") into
// the IDs, trimmed of spaces, without duplicates, in the order given. An
// empty key, an empty element, an ID with a control character, whitespace
// inside it, or more than MaxIDs IDs is an error matching
// diffyerr.ErrInvalidKey.
func ParseIDs(key string) ([]string, error) {
	if strings.TrimSpace(key) == "" {
		return nil, fmt.Errorf("instance ID list %q is empty: %w", key, diffyerr.ErrInvalidKey)
	}
	parts := strings.Split(key, ",")
	if len(parts) > MaxIDs {
		return nil, fmt.Errorf("instance ID list has %d IDs, more than %d: %w", len(parts), MaxIDs, diffyerr.ErrInvalidKey)
	}
	seen := make(map[string]bool, len(parts))
	ids := make([]string, 0, len(parts))
	for i, p := range parts {
		id := strings.TrimSpace(p)
		if id == "" {
			return nil, fmt.Errorf("instance ID list %q: element %d is empty: %w", key, i+1, diffyerr.ErrInvalidKey)
		}
		for _, r := range id {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				return nil, fmt.Errorf("instance ID %q (element %d) contains a space or control character: %w", id, i+1, diffyerr.ErrInvalidKey)
			}
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
