// Package s3store is the Store of Diffy's documents (baselines,
// collections, reports) in an S3 bucket, under a prefix:
//
//	s3://BUCKET/PREFIX/KIND/KEY.json
//
// Put is one PutObject, atomic by S3's nature: a reader sees the old object
// or the new one, never a part, and the last writer of a key wins. Get is
// one GetObject; List pages through ListObjectsV2 with the SDK's paginator.
// The Store also implements persist.Deleter, persist.InfoLister and
// persist.StreamPutter: PutFrom uploads a document larger than PartSize as
// a multipart upload, one part in memory at a time, which S3 shows only
// once completed (a failure aborts it).
//
// # Defaults
//
// No prefix means the bucket's root. Objects are written with the content
// type application/json. Retries (throttling, 5xx, resets) are the SDK's:
// use a configuration from package awsconfig.
//
// # Errors
//
// A key that persist.ValidKey refuses is an error matching
// diffyerr.ErrInvalidKey, before any request; a document that does not
// exist (NoSuchKey, NotFound) matches diffyerr.ErrNotFound. Other S3 errors
// are returned wrapped with the bucket and the object key.
//
// # Testing
//
// The package's tests run diffytest.TestStore with the real S3 client
// against diffytest/awsfake's S3 endpoint (gofakes3).
package s3store
