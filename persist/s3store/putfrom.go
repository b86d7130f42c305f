package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/diffy-dfir/diffy/persist"
)

// MultipartAPI is the part of the S3 client PutFrom uses for a document
// larger than one part; *s3.Client implements it. A client of API alone
// gets a PutFrom that reads the document whole, then Puts it.
type MultipartAPI interface {
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

var (
	_ MultipartAPI         = (*s3.Client)(nil)
	_ persist.StreamPutter = (*Store)(nil)
)

// PartSize is the size of the parts PutFrom uploads: S3's smallest part
// (5 MiB, but for the last) is too small for a 1 GB Report's 10,000-part
// limit (50 GB is far, but fewer requests is better), so 8 MiB: one part
// held in memory at a time, 125 requests for 1 GB.
const PartSize = 8 << 20

// PutFrom stores what r yields under (kind, key) (see
// persist.StreamPutter). A document of at most PartSize bytes is one
// PutObject, as Put; a larger one a multipart upload of PartSize parts,
// one part in memory at a time, completed once r is at its end: S3 shows
// the object only then, whole (atomic as Put). An error of r, or of a
// request, aborts the upload (S3 then drops the parts) and stores
// nothing. With a client that is no MultipartAPI the document is read
// whole and Put.
func (s *Store) PutFrom(ctx context.Context, kind persist.Kind, key string, r io.Reader) error {
	k, err := s.ObjectKey(kind, key)
	if err != nil {
		return err
	}
	mp, ok := s.client.(MultipartAPI)
	if !ok {
		doc, err := readAll(ctx, r)
		if err != nil {
			return fmt.Errorf("s3store: put s3://%s/%s: reading the document: %w", s.bucket, k, err)
		}
		return s.Put(ctx, kind, key, doc)
	}
	part := make([]byte, PartSize)
	n, err := readPart(ctx, r, part)
	if err != nil {
		return fmt.Errorf("s3store: put s3://%s/%s: reading the document: %w", s.bucket, k, err)
	}
	if n < PartSize {
		return s.Put(ctx, kind, key, part[:n])
	}
	up, err := mp.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("s3store: put s3://%s/%s: starting the upload: %w", s.bucket, k, err)
	}
	abort := func(err error) error {
		// The abort gets a context of its own: ctx may be what failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if _, aerr := mp.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(k), UploadId: up.UploadId}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting the upload (its parts stay until the bucket's lifecycle drops them): %w", aerr))
		}
		return fmt.Errorf("s3store: put s3://%s/%s: %w", s.bucket, k, err)
	}
	var parts []types.CompletedPart
	for num := int32(1); n > 0; num++ {
		out, err := mp.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(s.bucket), Key: aws.String(k), UploadId: up.UploadId, PartNumber: aws.Int32(num),
			Body: bytes.NewReader(part[:n]), ContentLength: aws.Int64(int64(n)),
		})
		if err != nil {
			return abort(fmt.Errorf("uploading part %d: %w", num, err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		if n < PartSize {
			break
		}
		if n, err = readPart(ctx, r, part); err != nil {
			return abort(fmt.Errorf("reading the document: %w", err))
		}
	}
	if err := ctx.Err(); err != nil {
		return abort(err)
	}
	_, err = mp.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(fmt.Errorf("completing the upload: %w", err))
	}
	return nil
}

// abortTimeout bounds the AbortMultipartUpload of a failed PutFrom.
const abortTimeout = 30 * time.Second

// readPart fills part from r as far as r goes: n < len(part) only at r's
// end. ctx is checked before each read.
func readPart(ctx context.Context, r io.Reader, part []byte) (int, error) {
	n := 0
	for n < len(part) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(part[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readAll reads r to its end, checking ctx between reads.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 64<<10)
	for {
		n, err := readPart(ctx, r, chunk)
		buf.Write(chunk[:n])
		if err != nil {
			return nil, err
		}
		if n < len(chunk) {
			return buf.Bytes(), nil
		}
	}
}
