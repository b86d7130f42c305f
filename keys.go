package diffy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/persist"
)

// Store keys longer than maxStoreKey bytes are shortened to their first
// longPrefix bytes, '~' and 16 hex digits of the SHA-256 of the target key,
// so that a long list of instance IDs still names one document and a
// partial key (store key, incident, batch number) stays under the store's
// 255-byte limit.
const (
	maxStoreKey = 180
	longPrefix  = 160
)

// StoreKey returns the key under which Diffy stores the documents of the
// target key: the target key itself when it is a plain store key, with
// '%', '/', '\\', '~', control bytes and a leading '.' written as %XX
// escapes (so "Name=web/prod" becomes "Name=web%2Fprod", distinct keys stay
// distinct, and no key can escape the store), and, when that is longer than
// 180 bytes, its first 160 bytes followed by '~' and 16 hex digits of the
// SHA-256 of the target key. An empty key is an error matching
// ErrInvalidKey.
func StoreKey(key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("target key is empty: %w", ErrInvalidKey)
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '%' || c == '/' || c == '\\' || c == '~' || c < 0x20 || c == 0x7f || (c == '.' && i == 0):
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	sk := b.String()
	if len(sk) > maxStoreKey {
		cut := longPrefix
		// Do not split a %XX escape or a UTF-8 sequence.
		if i := strings.LastIndexByte(sk[cut-2:cut], '%'); i >= 0 {
			cut = cut - 2 + i
		}
		for cut > 0 && !utf8.RuneStart(sk[cut]) {
			cut--
		}
		sum := sha256.Sum256([]byte(key))
		sk = sk[:cut] + "~" + hex.EncodeToString(sum[:8])
	}
	if err := persist.ValidKey(sk); err != nil {
		return "", fmt.Errorf("target key %q: %w", key, err)
	}
	return sk, nil
}

// NewIncidentID returns a new incident ID: "diffy-", the UTC time to the
// second, '-' and 6 random hex digits, as in "diffy-20261126T120000Z-1a2b3c".
func NewIncidentID() string {
	var r [3]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	return "diffy-" + time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:])
}
