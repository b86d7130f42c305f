package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/s3obj"
	"github.com/diffy-dfir/diffy/persist"
)

// API is the part of the S3 client the Store uses; *s3.Client implements
// it.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ API = (*s3.Client)(nil)

// Store keeps documents in an S3 bucket under a prefix. It is safe for
// concurrent use.
type Store struct {
	client API
	bucket string
	prefix string // "" or "a/b/" (ends with '/')
}

var (
	_ persist.Store      = (*Store)(nil)
	_ persist.Deleter    = (*Store)(nil)
	_ persist.InfoLister = (*Store)(nil)
)

// New returns a Store over client in bucket, under prefix ("" for the
// bucket's root; leading and trailing slashes are dropped). An empty bucket,
// or a prefix with an empty, "." or ".." segment or a control character, is
// an error matching diffyerr.ErrInvalidInput.
func New(client API, bucket, prefix string) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("s3store: nil S3 client: %w", diffyerr.ErrInvalidInput)
	}
	p, err := s3obj.CheckLocation(bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	if p != "" {
		p += "/"
	}
	return &Store{client: client, bucket: bucket, prefix: p}, nil
}

// NewFromConfig returns a Store with an S3 client made from cfg (see
// package awsconfig) and optFns (for instance path-style addressing).
func NewFromConfig(cfg aws.Config, bucket, prefix string, optFns ...func(*s3.Options)) (*Store, error) {
	return New(s3.NewFromConfig(cfg, optFns...), bucket, prefix)
}

// ParseURL splits "s3://bucket/prefix" into bucket and prefix. Anything
// else is an error matching diffyerr.ErrInvalidInput.
func ParseURL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("s3store: %q is not an s3://bucket/prefix URL: %w", u, diffyerr.ErrInvalidInput)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("s3store: %q has no bucket: %w", u, diffyerr.ErrInvalidInput)
	}
	return bucket, prefix, nil
}

// Bucket returns the Store's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the Store's prefix, "" or ending with '/'.
func (s *Store) Prefix() string { return s.prefix }

// ObjectKey returns the S3 key of (kind, key): PREFIX/KIND/KEY.json, after
// checking both with persist.ValidKey.
func (s *Store) ObjectKey(kind persist.Kind, key string) (string, error) {
	if err := persist.ValidKey(string(kind)); err != nil {
		return "", fmt.Errorf("s3store: kind: %w", err)
	}
	if err := persist.ValidKey(key); err != nil {
		return "", fmt.Errorf("s3store: %w", err)
	}
	return s.prefix + string(kind) + "/" + key + ".json", nil
}

// Put writes doc under (kind, key) with one PutObject.
func (s *Store) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
	k, err := s.ObjectKey(kind, key)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k),
		Body: bytes.NewReader(doc), ContentLength: aws.Int64(int64(len(doc))),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("s3store: put s3://%s/%s: %w", s.bucket, k, err)
	}
	return nil
}

// Get returns the document under (kind, key), or an error matching
// diffyerr.ErrNotFound.
func (s *Store) Get(ctx context.Context, kind persist.Kind, key string) ([]byte, error) {
	k, err := s.ObjectKey(kind, key)
	if err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err != nil {
		return nil, s.wrap("get", k, err)
	}
	defer out.Body.Close()
	doc, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3store: reading s3://%s/%s: %w", s.bucket, k, err)
	}
	return doc, nil
}

// List returns the keys held for kind, sorted: the objects PREFIX/KIND/X.json
// whose X is a valid key.
func (s *Store) List(ctx context.Context, kind persist.Kind) ([]string, error) {
	keys := []string{}
	err := s.walk(ctx, kind, "", func(key string, _ types.Object) {
		keys = append(keys, key)
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// ListInfo returns the Info of the documents under kind whose key starts
// with prefix, sorted by key (see persist.InfoLister), from one
// ListObjectsV2 listing of PREFIX/KIND/<prefix>: each object's size and
// LastModified.
func (s *Store) ListInfo(ctx context.Context, kind persist.Kind, prefix string) ([]persist.Info, error) {
	if err := persist.CheckPrefix(prefix); err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	infos := []persist.Info{}
	err := s.walk(ctx, kind, prefix, func(key string, o types.Object) {
		infos = append(infos, persist.Info{Key: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(infos, func(a, b persist.Info) int { return strings.Compare(a.Key, b.Key) })
	return slices.CompactFunc(infos, func(a, b persist.Info) bool { return a.Key == b.Key }), nil
}

// walk calls f with the key and object of every document under kind whose
// key starts with prefix: the objects PREFIX/KIND/X.json whose X is a valid
// key.
func (s *Store) walk(ctx context.Context, kind persist.Kind, prefix string, f func(key string, o types.Object)) error {
	if err := persist.ValidKey(string(kind)); err != nil {
		return fmt.Errorf("s3store: kind: %w", err)
	}
	dir := s.prefix + string(kind) + "/"
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(dir + prefix)})
	pages := awsconfig.Pages{Op: "ListObjectsV2"}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err == nil {
			err = pages.Next(page.NextContinuationToken)
		}
		if err != nil {
			return fmt.Errorf("s3store: list s3://%s/%s: %w", s.bucket, dir+prefix, err)
		}
		for _, o := range page.Contents {
			name, ok := strings.CutSuffix(strings.TrimPrefix(aws.ToString(o.Key), dir), ".json")
			if ok && strings.HasPrefix(name, prefix) && persist.ValidKey(name) == nil {
				f(name, o)
			}
		}
	}
	return nil
}

// Delete removes the document under (kind, key). S3's DeleteObject does
// not say whether the object existed, so a HeadObject first tells a missing
// document (diffyerr.ErrNotFound).
func (s *Store) Delete(ctx context.Context, kind persist.Kind, key string) error {
	k, err := s.ObjectKey(kind, key)
	if err != nil {
		return err
	}
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)}); err != nil {
		return s.wrap("delete", k, err)
	}
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)}); err != nil {
		return s.wrap("delete", k, err)
	}
	return nil
}

// wrap names the operation and object, and adds diffyerr.ErrNotFound to a
// missing-object error.
func (s *Store) wrap(op, key string, err error) error {
	if IsNotFound(err) {
		return fmt.Errorf("s3store: %s s3://%s/%s: no such document: %w: %w", op, s.bucket, key, diffyerr.ErrNotFound, err)
	}
	return fmt.Errorf("s3store: %s s3://%s/%s: %w", op, s.bucket, key, err)
}

// IsNotFound reports whether err is S3's answer for a missing object
// (NoSuchKey from GetObject, NotFound from HeadObject).
func IsNotFound(err error) bool { return s3obj.IsNotFound(err) }
