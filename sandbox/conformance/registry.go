package conformance

import (
	"fmt"
	"slices"
	"sync"
)

// Profile is a named group of checks that a kind of client is held to.
type Profile struct {
	// ID is stable, e.g. "smart-app-patient".
	ID          string
	Title       string
	Description string
	// Checks are the ids of the profile's checks, in report order.
	Checks []string
}

// Registry holds every check and profile. It is safe for concurrent use;
// checks and profiles are added at start and never removed.
type Registry struct {
	mu       sync.RWMutex
	checks   map[string]Check
	order    []string
	profiles map[string]Profile
	porder   []string
}

// NewRegistry returns an empty registry; Default returns one with this
// package's checks and profiles.
func NewRegistry() *Registry {
	return &Registry{checks: map[string]Check{}, profiles: map[string]Profile{}}
}

// Add registers checks. It refuses, adding none, a check that is
// malformed or whose id is taken.
func (r *Registry) Add(checks ...Check) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for i := range checks {
		c := &checks[i]
		if err := c.validate(); err != nil {
			return err
		}
		if _, dup := r.checks[c.ID]; dup || seen[c.ID] {
			return fmt.Errorf("conformance: check %s is registered twice", c.ID)
		}
		seen[c.ID] = true
	}
	for _, c := range checks {
		r.checks[c.ID] = c
		r.order = append(r.order, c.ID)
	}
	return nil
}

// AddProfile registers p. Its id must be new and its checks registered.
func (r *Registry) AddProfile(p Profile) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.ID == "" || p.Title == "" {
		return fmt.Errorf("conformance: a profile needs an id and a title (got %q, %q)", p.ID, p.Title)
	}
	if _, dup := r.profiles[p.ID]; dup {
		return fmt.Errorf("conformance: profile %s is registered twice", p.ID)
	}
	if len(p.Checks) == 0 {
		return fmt.Errorf("conformance: profile %s has no checks", p.ID)
	}
	for _, id := range p.Checks {
		if _, ok := r.checks[id]; !ok {
			return fmt.Errorf("conformance: profile %s names check %s, which is not registered", p.ID, id)
		}
	}
	p.Checks = slices.Clone(p.Checks)
	r.profiles[p.ID] = p
	r.porder = append(r.porder, p.ID)
	return nil
}

// Check returns the check with id.
func (r *Registry) Check(id string) (Check, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.checks[id]
	return c, ok
}

// Checks returns every check, in the order registered.
func (r *Registry) Checks() []Check {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Check, len(r.order))
	for i, id := range r.order {
		out[i] = r.checks[id]
	}
	return out
}

// Profile returns the profile with id.
func (r *Registry) Profile(id string) (Profile, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.profiles[id]
	p.Checks = slices.Clone(p.Checks)
	return p, ok
}

// Profiles returns every profile, in the order registered.
func (r *Registry) Profiles() []Profile {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Profile, len(r.porder))
	for i, id := range r.porder {
		p := r.profiles[id]
		p.Checks = slices.Clone(p.Checks)
		out[i] = p
	}
	return out
}

// ChecksOf returns the checks of profile id, in its order.
func (r *Registry) ChecksOf(id string) ([]Check, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.profiles[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, id)
	}
	out := make([]Check, len(p.Checks))
	for i, cid := range p.Checks {
		out[i] = r.checks[cid]
	}
	return out, nil
}
