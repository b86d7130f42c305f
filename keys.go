package diffy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/internal/history"
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

// TargetKey returns the target key that the store key sk stands for,
// undoing StoreKey's %XX escapes; ok is false when sk is not StoreKey of
// any key, or StoreKey shortened it (the hash cannot be undone).
func TargetKey(sk string) (key string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(sk); i++ {
		c := sk[i]
		switch {
		case c == '~':
			return "", false // shortened with a hash
		case c == '%':
			if i+2 >= len(sk) {
				return "", false
			}
			v, err := hex.DecodeString(sk[i+1 : i+3])
			if err != nil {
				return "", false
			}
			b.WriteByte(v[0])
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	key = b.String()
	if back, err := StoreKey(key); err != nil || back != sk {
		return "", false
	}
	return key, true
}

// NewRunID returns a new run ID (see Run): the UTC time to the millisecond,
// '-' and 6 random hex digits, as in "20261126T120000.123Z-1a2b3c". The
// IDs one process makes increase strictly, so they sort as the runs began.
func NewRunID() string { return history.NewID(time.Now()) }

// ValidRunID checks a run ID: the time to the millisecond in the form
// 20261126T120000.123Z, '-', and 1 to 16 lowercase ASCII letters or
// digits. The error matches ErrInvalidInput.
func ValidRunID(id string) error { return history.ValidID(id) }
