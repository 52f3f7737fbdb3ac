package interaction

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/profile"
	"hpsandbox/fhirstore/search"
)

// conformanceTypes are the resource types whose instances in a sandbox are
// definitions there: writing or deleting one recompiles the sandbox's set.
var conformanceTypes = map[string]bool{"StructureDefinition": true, "ValueSet": true, "CodeSystem": true}

// IsConformanceType reports whether resources of typ written into a
// sandbox become definitions that $validate and enforcement use there.
func IsConformanceType(typ string) bool { return conformanceTypes[typ] }

// loadTimeout bounds loading one sandbox's definitions; the load runs on
// its own context, for its result serves every request that waits for it.
const loadTimeout = 30 * time.Second

// loadPage is how many conformance resources one search of the load reads.
const loadPage = 200

// maxCachedSandboxes bounds how many sandboxes' sets are kept; beyond it the
// cache starts again empty, and sets are compiled again on use.
const maxCachedSandboxes = 1000

// DefinitionCache holds, per sandbox, the definitions $validate and
// enforcement judge against: the R4 core definitions and the
// StructureDefinitions, ValueSets and CodeSystems stored in that sandbox.
// A sandbox's set is loaded from the store on first use, compiled as it is
// used, and dropped when a conformance resource of the sandbox is written
// or deleted (Invalidate), so that the next use loads it again. Engines
// over one store share a cache, so that a write through one is seen by
// all. It is safe for concurrent use.
type DefinitionCache struct {
	store fhirstore.Reader

	mu   sync.Mutex
	sets map[fhirstore.Sandbox]*sandboxDefs
}

// sandboxDefs is one load of a sandbox's set; ready closes when defs or
// err is set.
type sandboxDefs struct {
	ready chan struct{}
	defs  *profile.Definitions
	err   error
}

// NewDefinitionCache returns an empty cache over the sandboxes of store.
func NewDefinitionCache(store fhirstore.Reader) *DefinitionCache {
	return &DefinitionCache{store: store, sets: map[fhirstore.Sandbox]*sandboxDefs{}}
}

// Definitions returns the set of sandbox: profile.Core() when the sandbox
// holds no conformance resources.
func (c *DefinitionCache) Definitions(ctx context.Context, sandbox fhirstore.Sandbox) (*profile.Definitions, error) {
	c.mu.Lock()
	s, ok := c.sets[sandbox]
	if !ok {
		if len(c.sets) >= maxCachedSandboxes {
			clear(c.sets)
		}
		s = &sandboxDefs{ready: make(chan struct{})}
		c.sets[sandbox] = s
	}
	c.mu.Unlock()
	if ok {
		select {
		case <-s.ready:
			return s.defs, s.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.defs, s.err = c.load(sandbox)
	close(s.ready)
	if s.err != nil {
		// A failed load is not remembered: the next use tries again.
		c.mu.Lock()
		if c.sets[sandbox] == s {
			delete(c.sets, sandbox)
		}
		c.mu.Unlock()
	}
	return s.defs, s.err
}

// Invalidate drops the set of sandbox, after a conformance resource of it
// was written or deleted; a load under way when it is called serves only
// those already waiting for it.
func (c *DefinitionCache) Invalidate(sandbox fhirstore.Sandbox) {
	c.mu.Lock()
	delete(c.sets, sandbox)
	c.mu.Unlock()
}

// load reads every current conformance resource of sandbox into a new set.
// It reads without the caller's context, whose search confinement (a
// patient-level token) must not hide definitions and whose cancellation
// must not fail those waiting for the same load.
func (c *DefinitionCache) load(sandbox fhirstore.Sandbox) (*profile.Definitions, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	q := &search.Query{Types: []string{"CodeSystem", "StructureDefinition", "ValueSet"}, Count: loadPage, Total: search.TotalNone}
	var found []*fhirstore.Resource
	for {
		page, err := c.store.Search(ctx, sandbox, fhirstore.SearchQuery{Query: q})
		if err != nil {
			return nil, err
		}
		found = append(found, page.Matches...)
		if page.Next == "" || len(page.Matches) == 0 {
			break
		}
		next := *q
		next.Cursor = page.Next
		q = &next
	}
	if len(found) == 0 {
		return profile.Core(), nil
	}
	defs := profile.New()
	for _, r := range found {
		if r.Type == "StructureDefinition" {
			// A resource the set cannot read (one without url) defines
			// nothing; profiles naming it stay unknown, which $validate
			// reports.
			_ = defs.Add(r.Body)
		}
	}
	// Value sets and code systems go in together, as a Bundle, so that
	// they are expanded once rather than once per resource.
	type entry struct {
		Resource json.RawMessage `json:"resource"`
	}
	terms := struct {
		ResourceType string  `json:"resourceType"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle"}
	for _, r := range found {
		if r.Type == "ValueSet" || r.Type == "CodeSystem" {
			terms.Entry = append(terms.Entry, entry{Resource: r.Body})
		}
	}
	if len(terms.Entry) > 0 {
		raw, err := json.Marshal(terms)
		if err != nil {
			return nil, err
		}
		_ = defs.Add(raw)
	}
	return defs, nil
}
