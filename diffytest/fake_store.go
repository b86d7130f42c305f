package diffytest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// FakeStore is an in-memory persist.Store, with the persist.Deleter
// capability, that records every call. It is
// safe for concurrent use, keeps and returns copies, and checks keys and
// kinds with persist.ValidKey. The zero value is an empty store ready to
// use. It passes TestStore.
type FakeStore struct {
	mu    sync.Mutex
	docs  map[persist.Kind]map[string][]byte
	calls []StoreCall
}

// StoreCall is one call a FakeStore received.
type StoreCall struct {
	// Op is "Put", "Get", "List" or "Delete".
	Op string
	// Kind and Key are the arguments; Key is empty for List.
	Kind persist.Kind
	Key  string
	// Err is the error the call returned, or nil.
	Err error
}

// NewFakeStore returns an empty FakeStore.
func NewFakeStore() *FakeStore { return &FakeStore{} }

// Put stores a copy of doc under (kind, key).
func (s *FakeStore) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.calls = append(s.calls, StoreCall{"Put", kind, key, err}) }()
	if err := s.check(ctx, kind, key); err != nil {
		return err
	}
	if s.docs == nil {
		s.docs = map[persist.Kind]map[string][]byte{}
	}
	if s.docs[kind] == nil {
		s.docs[kind] = map[string][]byte{}
	}
	s.docs[kind][key] = bytes.Clone(doc)
	return nil
}

// Get returns a copy of the document under (kind, key), or an error
// matching diffyerr.ErrNotFound.
func (s *FakeStore) Get(ctx context.Context, kind persist.Kind, key string) (doc []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.calls = append(s.calls, StoreCall{"Get", kind, key, err}) }()
	if err := s.check(ctx, kind, key); err != nil {
		return nil, err
	}
	d, ok := s.docs[kind][key]
	if !ok {
		return nil, fmt.Errorf("fake store: no %s document %q: %w", kind, key, diffyerr.ErrNotFound)
	}
	return bytes.Clone(d), nil
}

// List returns the keys held for kind, sorted.
func (s *FakeStore) List(ctx context.Context, kind persist.Kind) (keys []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.calls = append(s.calls, StoreCall{"List", kind, "", err}) }()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake store: %w", err)
	}
	if err := persist.ValidKey(string(kind)); err != nil {
		return nil, fmt.Errorf("fake store: kind: %w", err)
	}
	return slices.Sorted(maps.Keys(s.docs[kind])), nil
}

// Delete removes the document under (kind, key), or returns an error
// matching diffyerr.ErrNotFound.
func (s *FakeStore) Delete(ctx context.Context, kind persist.Kind, key string) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.calls = append(s.calls, StoreCall{"Delete", kind, key, err}) }()
	if err := s.check(ctx, kind, key); err != nil {
		return err
	}
	if _, ok := s.docs[kind][key]; !ok {
		return fmt.Errorf("fake store: no %s document %q to delete: %w", kind, key, diffyerr.ErrNotFound)
	}
	delete(s.docs[kind], key)
	return nil
}

// Calls returns the calls received, in order.
func (s *FakeStore) Calls() []StoreCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *FakeStore) check(ctx context.Context, kind persist.Kind, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake store: %w", err)
	}
	if err := persist.ValidKey(string(kind)); err != nil {
		return fmt.Errorf("fake store: kind: %w", err)
	}
	if err := persist.ValidKey(key); err != nil {
		return fmt.Errorf("fake store: %w", err)
	}
	return nil
}
