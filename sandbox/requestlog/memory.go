package requestlog

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// MemoryStore is a Store that keeps a ring of entries per sandbox in
// memory. It suits tests and a gateway without a data directory; its log
// is lost when the process ends.
type MemoryStore struct {
	max int

	mu     sync.RWMutex
	lastID int64
	rings  map[string]*ring
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store that keeps the newest
// perSandboxMax entries of each sandbox (DefaultPerSandboxMax if it is not
// positive).
func NewMemoryStore(perSandboxMax int) *MemoryStore {
	if perSandboxMax <= 0 {
		perSandboxMax = DefaultPerSandboxMax
	}
	return &MemoryStore{max: perSandboxMax, rings: map[string]*ring{}}
}

// Append implements Store.
func (s *MemoryStore) Append(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range entries {
		s.lastID++
		entries[i].ID = s.lastID
		e := entries[i]
		// The caller may reuse its slices; the log must not change with them.
		e.Issues = slices.Clone(e.Issues)
		e.Verdicts = slices.Clone(e.Verdicts)
		if e.OAuth != nil {
			o := *e.OAuth
			e.OAuth = &o
		}
		r := s.rings[e.Sandbox]
		if r == nil {
			r = &ring{}
			s.rings[e.Sandbox] = r
		}
		r.push(e, s.max)
	}
	return nil
}

// Query implements Store.
func (s *MemoryStore) Query(ctx context.Context, f Filter) (Page, error) {
	f, err := f.Normalized()
	if err != nil {
		return Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.rings[f.Sandbox]
	if r == nil {
		return Page{}, nil
	}
	// IDs increase from the oldest entry to the newest, so the cursor is
	// found by binary search and the scan walks back from there.
	hi := r.len()
	if f.Before > 0 {
		hi = sort.Search(r.len(), func(i int) bool { return r.at(i).ID >= f.Before })
	}
	var p Page
	for i := hi - 1; i >= 0; i-- {
		e := r.at(i)
		if !f.Match(e) {
			continue
		}
		if len(p.Entries) == f.Limit {
			p.Next = p.Entries[len(p.Entries)-1].ID
			break
		}
		c := *e
		c.Issues = slices.Clone(e.Issues)
		c.Verdicts = slices.Clone(e.Verdicts)
		if c.OAuth != nil {
			o := *c.OAuth
			c.OAuth = &o
		}
		p.Entries = append(p.Entries, c)
	}
	return p, nil
}

// DeleteSandbox implements Store.
func (s *MemoryStore) DeleteSandbox(ctx context.Context, sandbox string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rings, sandbox)
	return nil
}

// ring holds a sandbox's entries oldest first, growing up to its bound and
// then overwriting the oldest.
type ring struct {
	buf   []Entry
	start int // index in buf of the oldest entry once buf is full
}

func (r *ring) len() int { return len(r.buf) }

// at returns the i-th oldest entry.
func (r *ring) at(i int) *Entry { return &r.buf[(r.start+i)%len(r.buf)] }

func (r *ring) push(e Entry, bound int) {
	if n := len(r.buf); n < bound {
		if n == cap(r.buf) {
			// Grow by doubling, but not far past the bound.
			r.buf = slices.Grow(r.buf, min(max(n, 8), bound-n))
		}
		r.buf = append(r.buf, e)
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % len(r.buf)
}
