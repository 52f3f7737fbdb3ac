package exportjobs

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store of one process: jobs in memory, files in a directory.
// A restart forgets its jobs, as a client polling then learns (404).
type Memory struct {
	dir     string
	tempDir bool

	mu   sync.Mutex
	jobs map[string]*Job
}

var _ Store = (*Memory)(nil)

// NewMemory returns a Memory whose files are under dir, or under a
// temporary directory made at the first file (and removed by Close) when
// dir is empty. Files a previous process left in dir are unreachable: the
// gateway empties it before.
func NewMemory(dir string) *Memory {
	return &Memory{dir: dir, jobs: map[string]*Job{}}
}

// root returns the files' directory, made if it is a temporary one.
func (m *Memory) root() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dir == "" {
		d, err := os.MkdirTemp("", "hps-exports-")
		if err != nil {
			return "", err
		}
		m.dir, m.tempDir = d, true
	}
	return m.dir, nil
}

func clone(j *Job) *Job {
	c := *j
	c.Files = slices.Clone(j.Files)
	for _, t := range []*time.Time{&c.TransactionTime, &c.Heartbeat, &c.Created, &c.Expires} {
		*t = ms(*t)
	}
	return &c
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, j *Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs[j.ID] != nil {
		return errors.New("exportjobs: a job of this id exists")
	}
	m.jobs[j.ID] = clone(j)
	return nil
}

// Job implements Store.
func (m *Memory) Job(_ context.Context, sandbox, id string) (*Job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	if j == nil || j.Sandbox != sandbox || !time.Now().Before(j.Expires) {
		return nil, ErrNotFound
	}
	return clone(j), nil
}

// Save implements Store.
func (m *Memory) Save(_ context.Context, j *Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.jobs[j.ID]
	if old == nil || old.State != Running || old.Owner != j.Owner {
		return ErrNotFound
	}
	n := clone(j)
	n.Sandbox, n.Request, n.Created = old.Sandbox, old.Request, old.Created
	m.jobs[j.ID] = n
	return nil
}

// Abandon implements Store.
func (m *Memory) Abandon(_ context.Context, id string, heartbeat time.Time, reason string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[id]
	if j == nil || j.State != Running || !j.Heartbeat.Equal(ms(heartbeat)) {
		return false, nil
	}
	j.State, j.Error, j.Expires = Failed, reason, ms(expires)
	return true, nil
}

// CreateFile implements Store.
func (m *Memory) CreateFile(_ context.Context, id, name string) (io.WriteCloser, error) {
	if !safeName(id) || !safeName(name) {
		return nil, ErrNotFound
	}
	root, err := m.root()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, id), 0o750); err != nil {
		return nil, err
	}
	return os.Create(filepath.Join(root, id, name))
}

// OpenFile implements Store.
func (m *Memory) OpenFile(_ context.Context, id, name string) (io.ReadCloser, int64, error) {
	if !safeName(id) || !safeName(name) {
		return nil, 0, ErrNotFound
	}
	root, err := m.root()
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(filepath.Join(root, id, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, sandbox, id string) error {
	m.mu.Lock()
	j := m.jobs[id]
	if j == nil || j.Sandbox != sandbox {
		m.mu.Unlock()
		return ErrNotFound
	}
	delete(m.jobs, id)
	dir := m.dir
	m.mu.Unlock()
	if dir == "" {
		return nil
	}
	return os.RemoveAll(filepath.Join(dir, id))
}

// Sweep implements Store.
func (m *Memory) Sweep(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	var gone []string
	for id, j := range m.jobs {
		if j.Expires.Before(now) {
			delete(m.jobs, id)
			gone = append(gone, id)
		}
	}
	live := map[string]bool{}
	for id := range m.jobs {
		live[id] = true
	}
	dir := m.dir
	m.mu.Unlock()
	if dir == "" {
		return len(gone), nil
	}
	// Directories of jobs that are gone, expired or deleted while their
	// runner still wrote.
	entries, _ := os.ReadDir(dir)
	var errs []error
	for _, e := range entries {
		if !live[e.Name()] {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
		}
	}
	return len(gone), errors.Join(errs...)
}

// Close implements Store; it removes a temporary directory.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tempDir {
		return os.RemoveAll(m.dir)
	}
	return nil
}

// safeName reports whether s names a file within a directory: not empty,
// no separators, no dot-only names.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && filepath.Base(s) == s && !strings.ContainsAny(s, `/\`+"\x00")
}
