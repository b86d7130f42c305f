package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// tokenBytes is the entropy of a generated token: 256 bits.
const tokenBytes = 32

// minToken is the shortest token the server accepts when given one: 128
// bits as base64.
const minToken = 22

// maxTokenFile bounds the token file read.
const maxTokenFile = 4096

// tokenCheck compares bearer tokens with the server's in constant time.
type tokenCheck struct{ sum [sha256.Size]byte }

func newTokenCheck(token string) *tokenCheck { return &tokenCheck{sum: sha256.Sum256([]byte(token))} }

// ok reports whether r carries the token as "Authorization: Bearer
// TOKEN". The digests are compared, so the time taken tells nothing of
// the token's length or content.
func (t *tokenCheck) ok(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
}

// checkToken refuses a token given that is too short or not printable
// ASCII.
func checkToken(tok, from string) error {
	if len(tok) < minToken {
		return fmt.Errorf("%s: the token is %d characters long; want at least %d (a generated one has %d)", from, len(tok), minToken, base64.RawURLEncoding.EncodedLen(tokenBytes))
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return fmt.Errorf("%s: the token has a byte that is not printable ASCII at %d", from, i)
		}
	}
	return nil
}

// loadToken returns the token of path, creating the file with a new
// random token when there is none (created reports that). The file is
// opened without following a symbolic link and must be a regular file of
// this user that no one else can read or write; a new one is created
// with O_EXCL (never over an existing file or link) and mode 0600, in a
// folder made 0700 when missing.
func loadToken(path string) (tok string, created bool, err error) {
	tok, err = readToken(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("token file %s: %w", path, err)
	}
	if err := checkTokenDir(dir); err != nil {
		return "", false, fmt.Errorf("token file %s: %w", path, err)
	}
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", false, fmt.Errorf("token file %s: generating a token: %w", path, err)
	}
	tok = base64.RawURLEncoding.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another server made it first: use that one.
		tok, err = readToken(path)
		return tok, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("token file %s: %w", path, err)
	}
	_, err = io.WriteString(f, tok+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", false, fmt.Errorf("token file %s: %w", path, err)
	}
	return tok, true, nil
}

// readToken reads the token of an existing file, refusing a link, a file
// that is not regular, another user's, or one others may read or write.
func readToken(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("token file %s: %w (a symbolic link is refused)", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file (%v)", path, fi.Mode().Type())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token file %s has mode %v: others may read or change it; chmod 600 it (or remove it to have a new one made)", path, fi.Mode().Perm())
	}
	if err := ownedByMe(fi); err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	if len(b) > maxTokenFile {
		return "", fmt.Errorf("token file %s is longer than %d bytes", path, maxTokenFile)
	}
	tok := strings.TrimSpace(string(b))
	return tok, checkToken(tok, "token file "+path)
}
