package diffy

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/internal/parts"
	"github.com/diffy-dfir/diffy/persist"
)

// unescapeStoreKey undoes StoreKey's %XX escapes.
func unescapeStoreKey(t *testing.T, sk string) string {
	var b strings.Builder
	for i := 0; i < len(sk); i++ {
		if sk[i] != '%' {
			b.WriteByte(sk[i])
			continue
		}
		if i+3 > len(sk) {
			t.Fatalf("store key %q: cut escape", sk)
		}
		v, err := strconv.ParseUint(sk[i+1:i+3], 16, 8)
		if err != nil {
			t.Fatalf("store key %q: bad escape: %v", sk, err)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String()
}

// FuzzStoreKey checks StoreKey, which turns a target key typed on the
// command line (a group name, a tag filter, a list of IDs) into the name
// of its documents: any non-empty key gives a valid store key of at most
// 180 bytes; a key that is not shortened decodes back to itself (so two
// keys never share documents); a shortened one ends in its hash; and the
// partial keys of its batches parse back to the store key, incident and
// batch number.
func FuzzStoreKey(f *testing.F) {
	for _, s := range []string{"web-asg", "Name=web/prod,env=prod", "i-1,i-2", ".hidden", "..", "a%2Fb", "~x", "a\x00b",
		strings.Repeat("i-0123456789abcdef0,", 20), strings.Repeat("é", 100), "%", "tag:aws:autoscaling:groupName=x"} {
		f.Add(s, uint32(3))
	}
	f.Fuzz(func(t *testing.T, key string, n uint32) {
		sk, err := StoreKey(key)
		if key == "" {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("StoreKey(\"\") = %q, %v; want ErrInvalidKey", sk, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("StoreKey(%q) = %v", key, err)
		}
		if err := persist.ValidKey(sk); err != nil || len(sk) > maxStoreKey {
			t.Fatalf("StoreKey(%q) = %q (%d bytes): %v", key, sk, len(sk), err)
		}
		if i := strings.IndexByte(sk, '~'); i < 0 {
			if back := unescapeStoreKey(t, sk); back != key {
				t.Fatalf("StoreKey(%q) = %q decodes to %q", key, sk, back)
			}
		} else if len(sk)-i != 17 {
			t.Fatalf("StoreKey(%q) = %q: '~' not followed by the 16-digit hash", key, sk)
		}
		if again, _ := StoreKey(key); again != sk {
			t.Fatalf("StoreKey(%q) not deterministic: %q then %q", key, sk, again)
		}
		inc := "diffy-20261126T120000Z-1a2b3c"
		pk := parts.Key(sk, inc, int(n))
		if err := persist.ValidKey(pk); err != nil {
			t.Fatalf("part key %q of %q: %v", pk, key, err)
		}
		gsk, ginc, gn, ok := parts.ParseKey(pk)
		if !ok || gsk != sk || ginc != inc || gn != int(n) {
			t.Fatalf("parsePartKey(%q) = %q %q %d %v; want %q %q %d", pk, gsk, ginc, gn, ok, sk, inc, n)
		}
	})
}
