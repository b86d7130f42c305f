// Package s3obj holds what the two S3 users of Diffy, persist/s3store (the
// Store) and collect/ssmcollect (the full output of Run Command), must
// agree on: which bucket and prefix are acceptable, and what S3 answers
// for an object that is not there. It imports no Diffy plugin, so neither
// user depends on the other.
package s3obj

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// CheckLocation checks a bucket name and an object key prefix, and returns
// the prefix without its leading and trailing slashes ("" for the bucket's
// root). An empty bucket, one that holds '/' or NUL, or a prefix with an
// empty, "." or ".." segment or a control character, is an error matching
// diffyerr.ErrInvalidInput naming it.
func CheckLocation(bucket, prefix string) (string, error) {
	if bucket == "" || strings.ContainsAny(bucket, "/\x00") {
		return "", fmt.Errorf("bucket name %q is empty or holds '/': %w", bucket, diffyerr.ErrInvalidInput)
	}
	p := strings.Trim(prefix, "/")
	if p != "" {
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return "", fmt.Errorf("prefix %q has an empty, \".\" or \"..\" segment or a control character: %w", prefix, diffyerr.ErrInvalidInput)
			}
		}
	}
	return p, nil
}

// IsNotFound reports whether err is S3's answer for a missing object
// (NoSuchKey from GetObject, NotFound from HeadObject), typed or as a bare
// API error code.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}
