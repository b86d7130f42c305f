// Package history keeps every baseline, collection and report of a key in
// a store, each under its run ID, beside the newest one, which stays the
// plain document (kind, store key) that Diffy has always written and read.
//
// Layout: the run documents of kind K are kind "K.history", key
// "<store key>@<run ID>"; a run ID is the UTC time the run began to the
// millisecond, '-' and a random suffix ("20261126T120000.123Z-1a2b3c"), so
// that IDs sort as their times do. A store written before history existed
// holds only plain documents: they are read as the key's one (legacy) run,
// and moved into the history, under a run ID of their own time, when a
// newer run of the key is stored.
package history

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// Kinds are the kinds whose documents have a history.
var Kinds = []persist.Kind{persist.KindBaseline, persist.KindCollection, persist.KindAnalysis}

// Latest is the run ID that names a key's newest document, the plain one.
const Latest = "latest"

// KindOf returns the kind that holds the runs of kind k.
func KindOf(k persist.Kind) persist.Kind { return k + ".history" }

// sep separates the store key from the run ID in a run's key. Store keys
// may hold it too: a run's key is split at its last one.
const sep = "@"

// Key returns the key of run id of the store key sk.
func Key(sk, id string) string { return sk + sep + id }

// ParseKey splits a run's key into store key and run ID; ok is false for a
// key that is not one.
func ParseKey(k string) (sk, id string, ok bool) {
	i := strings.LastIndex(k, sep)
	if i <= 0 {
		return "", "", false
	}
	sk, id = k[:i], k[i+1:]
	if ValidID(id) != nil {
		return "", "", false
	}
	return sk, id, true
}

// idLayout is the time part of a run ID.
const idLayout = "20060102T150405.000Z"

// maxSuffix is the longest suffix of a run ID.
const maxSuffix = 16

// ValidID checks a run ID: the time part (20060102T150405.000Z), '-', and 1
// to 16 lowercase ASCII letters or digits. The error matches
// diffyerr.ErrInvalidInput and names the ID.
func ValidID(id string) error {
	bad := func(why string) error {
		return fmt.Errorf("run ID %q %s (want the form 20261126T120000.123Z-1a2b3c): %w", id, why, diffyerr.ErrInvalidInput)
	}
	if len(id) < len(idLayout)+2 || len(id) > len(idLayout)+1+maxSuffix {
		return bad("has the wrong length")
	}
	if _, err := time.Parse(idLayout, id[:len(idLayout)]); err != nil {
		return bad("does not begin with a time")
	}
	if id[len(idLayout)] != '-' {
		return bad("has no '-' after its time")
	}
	for _, c := range []byte(id[len(idLayout)+1:]) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return bad("has a suffix that is not lowercase letters and digits")
		}
	}
	return nil
}

// IDTime returns the time of a valid run ID; the zero Time otherwise.
func IDTime(id string) time.Time {
	if ValidID(id) != nil {
		return time.Time{}
	}
	t, _ := time.Parse(idLayout, id[:len(idLayout)])
	return t
}

var (
	idMu   sync.Mutex
	idLast time.Time
)

// maxBump is how far back the clock may step for NewID to still make an ID
// after the last one.
const maxBump = time.Second

// NewID returns a new run ID for a run that begins at now. The IDs one
// process makes increase strictly, so that they sort as the runs began: a
// run that begins in the same millisecond as the one before (or less than
// maxBump earlier, the clock having stepped back a little) takes the next
// millisecond. A clock set back further is believed.
func NewID(now time.Time) string {
	t := now.UTC().Truncate(time.Millisecond)
	idMu.Lock()
	if !t.After(idLast) && idLast.Sub(t) < maxBump {
		t = idLast.Add(time.Millisecond)
	}
	idLast = t
	idMu.Unlock()
	var r [3]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	return IDAt(t, hex.EncodeToString(r[:]))
}

// IDAt returns the run ID of time t with suffix.
func IDAt(t time.Time, suffix string) string {
	return t.UTC().Format(idLayout) + "-" + suffix
}

// Run is one stored document of a key's history.
type Run struct {
	Kind persist.Kind
	// Key is the store key.
	Key string
	// ID is the run ID, or Latest for a legacy document.
	ID string
	// Time is when the run began (from its ID); for a legacy document,
	// when the store last wrote it, or the zero Time when unknown.
	Time time.Time
	// Size is the document's length in bytes; -1 when the store cannot
	// tell without reading it (no persist.InfoLister).
	Size int64
	// Latest marks the newest run of the kind: the one the plain document
	// holds.
	Latest bool
	// Legacy marks a plain document that has no run of its own (written
	// before history was kept).
	Legacy bool
}

// listInfo lists kind's documents whose key starts with prefix, through
// the store's persist.InfoLister when it has one, else through List (sizes
// unknown: -1).
func listInfo(ctx context.Context, st persist.Store, kind persist.Kind, prefix string) ([]persist.Info, error) {
	if il, ok := st.(persist.InfoLister); ok {
		return il.ListInfo(ctx, kind, prefix)
	}
	keys, err := st.List(ctx, kind)
	if err != nil {
		return nil, err
	}
	var infos []persist.Info
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, persist.Info{Key: k, Size: -1})
		}
	}
	return infos, nil
}

// All returns the runs of every key of kind (sk == "") or of the store key
// sk, sorted by store key and then run ID, the legacy document of a key
// with no run last. The newest run of each key is marked Latest.
func All(ctx context.Context, st persist.Store, kind persist.Kind, sk string) ([]Run, error) {
	prefix := ""
	if sk != "" {
		prefix = sk + sep
	}
	infos, err := listInfo(ctx, st, KindOf(kind), prefix)
	if err != nil {
		return nil, err
	}
	var runs []Run
	have := map[string]bool{}
	for _, in := range infos {
		k, id, ok := ParseKey(in.Key)
		if !ok || sk != "" && k != sk {
			continue
		}
		runs = append(runs, Run{Kind: kind, Key: k, ID: id, Time: IDTime(id), Size: in.Size})
		have[k] = true
	}
	plain, err := listInfo(ctx, st, kind, sk)
	if err != nil {
		return nil, err
	}
	for _, in := range plain {
		if have[in.Key] || sk != "" && in.Key != sk {
			continue
		}
		runs = append(runs, Run{Kind: kind, Key: in.Key, ID: Latest, Time: in.ModTime, Size: in.Size, Latest: true, Legacy: true})
	}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(b2i(a.Legacy), b2i(b.Legacy)), strings.Compare(a.ID, b.ID))
	})
	for i := range runs {
		if !runs[i].Legacy && (i+1 == len(runs) || runs[i+1].Key != runs[i].Key) {
			runs[i].Latest = true
		}
	}
	return runs, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Retention says which runs of a key and kind to keep once a new one is
// stored. The newest run is always kept.
type Retention struct {
	// Runs is how many runs to keep (the newest); 0 for no limit.
	Runs int
	// MaxAge drops runs that began longer ago than MaxAge; 0 for no
	// limit.
	MaxAge time.Duration
}

// Put stores doc as run id of (kind, sk), and as the plain document, then
// drops the runs keep no longer keeps (when the store is a
// persist.Deleter). A legacy plain document is first moved into the
// history. now is the time retention is measured from. Failures to drop old
// runs are returned joined with ErrPrune, after the run is stored.
func Put(ctx context.Context, st persist.Store, kind persist.Kind, sk, id string, doc []byte, keep Retention, now time.Time) error {
	if err := migrateLegacy(ctx, st, kind, sk, id); err != nil {
		return err
	}
	if err := st.Put(ctx, KindOf(kind), Key(sk, id), doc); err != nil {
		return err
	}
	if err := st.Put(ctx, kind, sk, doc); err != nil {
		return err
	}
	return prune(ctx, st, kind, sk, keep, now)
}

// PutStream is Put of the document write writes, made in one pass and
// never whole in memory when st is a persist.StreamPutter: write's bytes
// go to the run's document and to the plain one at once (through pipes),
// and the plain document is stored only once the run's is (it waits at
// its end), as Put stores them one after the other. Without the
// capability the document is gathered in memory and Put. An error of
// write stores neither and is returned as it is; so is the first error of
// the stores.
func PutStream(ctx context.Context, st persist.Store, kind persist.Kind, sk, id string, write func(io.Writer) error, keep Retention, now time.Time) error {
	sp, ok := st.(persist.StreamPutter)
	if !ok {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return err
		}
		return Put(ctx, st, kind, sk, id, buf.Bytes(), keep, now)
	}
	if err := migrateLegacy(ctx, st, kind, sk, id); err != nil {
		return err
	}
	runR, runW := io.Pipe()
	plainR, plainW := io.Pipe()
	runDone := make(chan struct{})
	var runErr, plainErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(runDone)
		runErr = sp.PutFrom(ctx, KindOf(kind), Key(sk, id), runR)
		// A store that stopped reading must not block the writer.
		runR.CloseWithError(errStoreStopped)
	}()
	go func() {
		defer wg.Done()
		plainErr = sp.PutFrom(ctx, kind, sk, &afterRun{r: plainR, done: runDone, err: &runErr})
		plainR.CloseWithError(errStoreStopped)
	}()
	werr := write(io.MultiWriter(runW, plainW))
	runW.CloseWithError(werr)
	plainW.CloseWithError(werr)
	wg.Wait()
	// The cause first: write's own error, then a store's that is not
	// the other's stopping.
	for _, err := range []error{werr, runErr, plainErr} {
		if err != nil && !errors.Is(err, errStoreStopped) {
			return err
		}
	}
	if err := cmp.Or(runErr, plainErr, werr); err != nil {
		return err
	}
	return prune(ctx, st, kind, sk, keep, now)
}

// errStoreStopped is what a write to a store that stopped reading (it
// failed) returns; the store's own error is the one to tell.
var errStoreStopped = errors.New("the store stopped reading the document")

// afterRun is the plain document's reader of PutStream: r, whose end
// comes only once the run's document is stored (done closed, *err nil);
// when the run's failed, its end is that error, so that the plain one is
// not stored either.
type afterRun struct {
	r    io.Reader
	done <-chan struct{}
	err  *error
}

func (a *afterRun) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err == io.EOF {
		<-a.done
		if *a.err != nil {
			return n, fmt.Errorf("the run's document was not stored: %w", *a.err)
		}
	}
	return n, err
}

// ErrPrune marks a failure to drop runs that the retention no longer
// keeps: the new run is stored.
var ErrPrune = errors.New("dropping old runs")

// migrateLegacy moves the plain document of (kind, sk) into the history
// when it is a legacy one (the key's only run), before run id is stored.
func migrateLegacy(ctx context.Context, st persist.Store, kind persist.Kind, sk, id string) error {
	runs, err := All(ctx, st, kind, sk)
	if err != nil {
		return err
	}
	if len(runs) == 1 && runs[0].Legacy {
		return migrate(ctx, st, kind, runs[0], IDTime(id))
	}
	return nil
}

// migrate copies the legacy plain document of r into the history, under a
// run ID of its time: the store's ModTime, else the time in the document
// (a report's created_at, the latest collected_at of Results), else the
// zero time; and before next, the time of the run that replaces it.
func migrate(ctx context.Context, st persist.Store, kind persist.Kind, r Run, next time.Time) error {
	doc, err := st.Get(ctx, kind, r.Key)
	if errors.Is(err, diffyerr.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	t := r.Time
	if t.IsZero() {
		t = DocTime(doc)
	}
	t = t.Truncate(time.Millisecond)
	if !next.IsZero() && !t.Before(next) {
		t = next.Add(-time.Millisecond)
	}
	return st.Put(ctx, KindOf(kind), Key(r.Key, IDAt(t, "legacy")), doc)
}

// DocTime returns the time a stored document tells of itself: a report's
// created_at, or the latest collected_at of an array of Results; the zero
// Time when it tells none.
func DocTime(doc []byte) time.Time {
	var rep struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if json.Unmarshal(doc, &rep) == nil {
		return rep.CreatedAt
	}
	var rs []struct {
		CollectedAt time.Time `json:"collected_at"`
	}
	var t time.Time
	if json.Unmarshal(doc, &rs) == nil {
		for _, r := range rs {
			if r.CollectedAt.After(t) {
				t = r.CollectedAt
			}
		}
	}
	return t
}

// prune drops the runs of (kind, sk) that keep no longer keeps.
func prune(ctx context.Context, st persist.Store, kind persist.Kind, sk string, keep Retention, now time.Time) error {
	if keep.Runs <= 0 && keep.MaxAge <= 0 {
		return nil
	}
	del, ok := st.(persist.Deleter)
	if !ok {
		return nil
	}
	runs, err := All(ctx, st, kind, sk)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPrune, err)
	}
	runs = slices.DeleteFunc(runs, func(r Run) bool { return r.Legacy })
	var errs []error
	for i, r := range runs[:max(len(runs)-1, 0)] {
		tooMany := keep.Runs > 0 && len(runs)-i > keep.Runs
		tooOld := keep.MaxAge > 0 && r.Time.Before(now.Add(-keep.MaxAge))
		if !tooMany && !tooOld {
			continue
		}
		if err := del.Delete(ctx, KindOf(kind), Key(sk, r.ID)); err != nil && !errors.Is(err, diffyerr.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrPrune, errors.Join(errs...))
	}
	return nil
}

// Get returns the document of run id of (kind, sk); Latest (or "") names
// the plain document. A run never stored is an error matching
// diffyerr.ErrNotFound.
func Get(ctx context.Context, st persist.Store, kind persist.Kind, sk, id string) ([]byte, error) {
	if id == "" || id == Latest {
		return st.Get(ctx, kind, sk)
	}
	if err := ValidID(id); err != nil {
		return nil, err
	}
	return st.Get(ctx, KindOf(kind), Key(sk, id))
}

// Delete removes the runs of (kind, sk) that began before before (every
// run when before is the zero Time) and returns them. When the newest run
// goes, the plain document becomes the newest run left, or goes too when
// none is left. A legacy document of unknown time is removed only when
// before is zero. The store must be a persist.Deleter.
func Delete(ctx context.Context, st persist.Store, kind persist.Kind, sk string, before time.Time) ([]Run, error) {
	del, ok := st.(persist.Deleter)
	if !ok {
		return nil, fmt.Errorf("the store (%T) cannot delete documents: %w", st, diffyerr.ErrInvalidInput)
	}
	runs, err := All(ctx, st, kind, sk)
	if err != nil {
		return nil, err
	}
	gone := func(r Run) bool {
		return before.IsZero() || !r.Time.IsZero() && r.Time.Before(before)
	}
	var deleted, kept []Run
	latestGone := false
	for _, r := range runs {
		if !gone(r) {
			kept = append(kept, r)
			continue
		}
		var err error
		if r.Legacy {
			err = del.Delete(ctx, kind, sk)
		} else {
			err = del.Delete(ctx, KindOf(kind), Key(sk, r.ID))
		}
		if err != nil && !errors.Is(err, diffyerr.ErrNotFound) {
			return deleted, err
		}
		deleted = append(deleted, r)
		latestGone = latestGone || r.Latest && !r.Legacy
	}
	if !latestGone {
		return deleted, nil
	}
	if len(kept) == 0 {
		if err := del.Delete(ctx, kind, sk); err != nil && !errors.Is(err, diffyerr.ErrNotFound) {
			return deleted, err
		}
		return deleted, nil
	}
	newest := kept[len(kept)-1]
	doc, err := st.Get(ctx, KindOf(kind), Key(sk, newest.ID))
	if err != nil {
		return deleted, err
	}
	return deleted, st.Put(ctx, kind, sk, doc)
}
