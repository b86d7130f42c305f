package persist

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Memory is a Store held in memory, for tests and for runs that keep
// nothing. It checks kinds and keys with ValidKey like every Store, copies
// documents in and out (a caller changing a slice it passed or got back
// changes nothing stored), and is safe for concurrent use. The zero value
// is an empty store ready to use; NewMemory returns one too. A Memory must
// not be copied after first use.
type Memory struct {
	mu   sync.RWMutex
	docs map[Kind]map[string]memDoc
}

// memDoc is one document of a Memory and when it was put.
type memDoc struct {
	doc []byte
	mod time.Time
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{} }

var (
	_ Store        = (*Memory)(nil)
	_ Deleter      = (*Memory)(nil)
	_ InfoLister   = (*Memory)(nil)
	_ StreamPutter = (*Memory)(nil)
)

// Put stores a copy of doc under (kind, key).
func (m *Memory) Put(ctx context.Context, kind Kind, key string, doc []byte) error {
	if err := checkMem(ctx, kind, key); err != nil {
		return err
	}
	cp := make([]byte, len(doc))
	copy(cp, doc)
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = make(map[Kind]map[string]memDoc)
	}
	byKey := m.docs[kind]
	if byKey == nil {
		byKey = make(map[string]memDoc)
		m.docs[kind] = byKey
	}
	byKey[key] = memDoc{cp, now}
	return nil
}

// PutFrom stores what r yields under (kind, key) (see StreamPutter): read
// whole, then put; a Memory holds its documents in memory anyway.
func (m *Memory) PutFrom(ctx context.Context, kind Kind, key string, r io.Reader) error {
	if err := checkMem(ctx, kind, key); err != nil {
		return err
	}
	doc, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("memory store: put %s/%s: reading the document: %w", kind, key, err)
	}
	return m.Put(ctx, kind, key, doc)
}

// Get returns a copy of the document under (kind, key), or an error
// matching diffyerr.ErrNotFound naming both.
func (m *Memory) Get(ctx context.Context, kind Kind, key string) ([]byte, error) {
	if err := checkMem(ctx, kind, key); err != nil {
		return nil, err
	}
	m.mu.RLock()
	d, ok := m.docs[kind][key]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("memory store: no %s document %q: %w", kind, key, diffyerr.ErrNotFound)
	}
	cp := make([]byte, len(d.doc))
	copy(cp, d.doc)
	return cp, nil
}

// List returns the keys stored under kind, sorted; an empty (non-nil) list
// when there is none.
func (m *Memory) List(ctx context.Context, kind Kind) ([]string, error) {
	if err := checkKind(ctx, kind); err != nil {
		return nil, err
	}
	m.mu.RLock()
	keys := slices.AppendSeq(make([]string, 0, len(m.docs[kind])), maps.Keys(m.docs[kind]))
	m.mu.RUnlock()
	slices.Sort(keys)
	return keys, nil
}

// ListInfo returns the Info of the documents under kind whose key starts
// with prefix, sorted by key (see InfoLister); ModTime is when each was
// put.
func (m *Memory) ListInfo(ctx context.Context, kind Kind, prefix string) ([]Info, error) {
	if err := checkKind(ctx, kind); err != nil {
		return nil, err
	}
	if err := CheckPrefix(prefix); err != nil {
		return nil, err
	}
	m.mu.RLock()
	infos := []Info{}
	for k, d := range m.docs[kind] {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, Info{Key: k, Size: int64(len(d.doc)), ModTime: d.mod})
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// Delete removes the document under (kind, key), or returns an error
// matching diffyerr.ErrNotFound naming both.
func (m *Memory) Delete(ctx context.Context, kind Kind, key string) error {
	if err := checkMem(ctx, kind, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[kind][key]; !ok {
		return fmt.Errorf("memory store: no %s document %q: %w", kind, key, diffyerr.ErrNotFound)
	}
	delete(m.docs[kind], key)
	return nil
}

// checkMem refuses a cancelled ctx and an invalid kind or key.
func checkMem(ctx context.Context, kind Kind, key string) error {
	if err := checkKind(ctx, kind); err != nil {
		return err
	}
	return ValidKey(key)
}

// checkKind refuses a cancelled ctx and an invalid kind.
func checkKind(ctx context.Context, kind Kind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidKey(string(kind)); err != nil {
		return fmt.Errorf("store kind: %w", err)
	}
	return nil
}
