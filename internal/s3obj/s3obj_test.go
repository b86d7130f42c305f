package s3obj

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/diffy-dfir/diffy/diffyerr"
)

func TestCheckLocation(t *testing.T) {
	for _, c := range []struct{ bucket, prefix, want string }{
		{"b", "", ""}, {"b", "/", ""}, {"b", "a/b/", "a/b"}, {"b", "/a", "a"}, {"my.bucket-1", "x", "x"},
	} {
		got, err := CheckLocation(c.bucket, c.prefix)
		if err != nil || got != c.want {
			t.Errorf("CheckLocation(%q, %q) = %q, %v; want %q", c.bucket, c.prefix, got, err, c.want)
		}
	}
	for _, c := range []struct{ bucket, prefix string }{
		{"", ""}, {"a/b", ""}, {"a\x00", ""}, {"b", "a//b"}, {"b", "a/../b"}, {"b", "./a"}, {"b", "a/\x01"}, {"b", "a\x7f"},
	} {
		if _, err := CheckLocation(c.bucket, c.prefix); !errors.Is(err, diffyerr.ErrInvalidInput) {
			t.Errorf("CheckLocation(%q, %q) = %v; want ErrInvalidInput", c.bucket, c.prefix, err)
		}
	}
}

func TestIsNotFound(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&types.NoSuchKey{}, true},
		{fmt.Errorf("get: %w", &types.NotFound{}), true},
		{&smithy.GenericAPIError{Code: "NoSuchKey"}, true},
		{&smithy.GenericAPIError{Code: "NotFound"}, true},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, false},
		{&types.NoSuchBucket{}, false},
		{errors.New("NoSuchKey"), false},
		{nil, false},
	} {
		if got := IsNotFound(c.err); got != c.want {
			t.Errorf("IsNotFound(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
