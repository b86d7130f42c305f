// Package persist defines the Store plugin, which keeps baselines,
// collections and reports as JSON documents, and its dependency-free
// implementations Dir (files in a directory, the embedded default) and
// Memory. The S3 store lives in persist/s3store.
//
// Dir keeps each document as the file <Path>/<kind>/<key>.json, written
// atomically (temporary file, fsync, rename, fsync of the directory), files
// 0600 and directories 0700. Stores that can remove a document also
// implement the optional Deleter capability, and stores that can list
// documents with their size and time, by key prefix, the optional
// InfoLister; Dir, Memory and s3store.Store implement both. Stores that
// can take a document from an io.Reader, so that a large one (a Report of
// 100,000 hosts) is never whole in memory, implement StreamPutter (Dir,
// Memory, s3store.Store); PutFrom uses it, or reads the document whole for
// Put.
//
// Package diffy keeps the history of a key in the kinds
// "<kind>.history" (baseline.history, collection.history,
// analysis.history), under the keys "<store key>@<run ID>", beside the
// plain document of the newest run.
//
// # Defaults
//
// diffy.New uses a Dir at DefaultDir() when no store is set:
// $XDG_DATA_HOME/diffy, else ~/.local/share/diffy, else ./.diffy.
//
// # Errors
//
// A document never written is an error matching diffyerr.ErrNotFound; a key
// that could escape the store is refused with diffyerr.ErrInvalidKey.
//
// # Testing
//
// diffytest.TestStore runs the Store contract against any implementation.
package persist
