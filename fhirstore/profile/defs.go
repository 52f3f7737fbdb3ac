package profile

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"hpsandbox/fhirstore/profile/internal/expand"
)

//go:generate go run ./internal/gen -out defs

//go:embed defs/structuredefinitions.json.gz defs/valuesets.json.gz
var defsFS embed.FS

// CorePrefix is the canonical URL prefix of the core StructureDefinitions.
const CorePrefix = "http://hl7.org/fhir/StructureDefinition/"

// Definitions is a set of conformance resources (StructureDefinitions,
// ValueSets, CodeSystems) and the validators compiled from them. A set made
// by New sees the R4 core definitions under its own; it is safe for
// concurrent use, and compiles each definition once, when first needed.
type Definitions struct {
	parent *Definitions

	mu       sync.Mutex
	raw      map[string]json.RawMessage // url → StructureDefinition not yet decoded
	sds      map[string]*StructureDefinition
	compiled map[string]*compiled
	// fast maps a name or url as asked to its compiled form, read without
	// the lock: a map replaced (under mu), never changed, as the walker
	// asks it for almost every element.
	fast        atomic.Pointer[map[string]*compiled]
	defCache    sync.Map // defKey → []defAt, the definitions a discriminator path reaches
	targetCache sync.Map // *Element → *targetSet
	failed      map[string]error
	terms       expand.Terminology
	codes       map[string]map[string]bool // code system url → its codes, built on first use
	termSrc     []map[string]any           // the ValueSets and CodeSystems added, for re-expansion
	globals     map[string][]string        // resource type → profiles an ImplementationGuide applies to all
}

var core = sync.OnceValues(loadCore)

// Core returns the R4 core definitions, loaded on first use.
func Core() *Definitions {
	d, err := core()
	if err != nil {
		// The data is embedded and tested; failing to read it is a build defect.
		panic(err)
	}
	return d
}

// New returns an empty set over the R4 core definitions.
func New() *Definitions {
	d := empty()
	d.parent = Core()
	return d
}

func empty() *Definitions {
	return &Definitions{
		raw:      map[string]json.RawMessage{},
		sds:      map[string]*StructureDefinition{},
		compiled: map[string]*compiled{},
		failed:   map[string]error{},
		terms:    expand.Terminology{ValueSets: map[string]*expand.Expansion{}, CodeSystems: map[string][]string{}},
		codes:    map[string]map[string]bool{},
		globals:  map[string][]string{},
	}
}

func gunzip(name string) ([]byte, error) {
	f, err := defsFS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func loadCore() (*Definitions, error) {
	d := empty()
	raw, err := gunzip("defs/structuredefinitions.json.gz")
	if err != nil {
		return nil, fmt.Errorf("profile: core definitions: %w", err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("profile: core definitions: %w", err)
	}
	for _, r := range list {
		d.raw[urlOf(r)] = r
	}
	vs, err := gunzip("defs/valuesets.json.gz")
	if err != nil {
		return nil, fmt.Errorf("profile: core value sets: %w", err)
	}
	if err := json.Unmarshal(vs, &d.terms); err != nil {
		return nil, fmt.Errorf("profile: core value sets: %w", err)
	}
	return d, nil
}

// urlOf reads the url of a StructureDefinition in the generator's output,
// whose keys are sorted: it is found without decoding the elements.
func urlOf(r json.RawMessage) string {
	i := bytes.Index(r, []byte(`"url":"`))
	if i < 0 {
		return ""
	}
	rest := r[i+7:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// Canonical returns the URL of a type name ("Observation") or the URL itself.
func Canonical(typeOrURL string) string {
	if strings.Contains(typeOrURL, "/") {
		if i := strings.IndexByte(typeOrURL, '|'); i >= 0 {
			return typeOrURL[:i]
		}
		return typeOrURL
	}
	return CorePrefix + typeOrURL
}

// StructureDefinition returns the definition of a URL or type name, or nil.
func (d *Definitions) StructureDefinition(url string) *StructureDefinition {
	url = Canonical(url)
	for s := d; s != nil; s = s.parent {
		if sd := s.local(url); sd != nil {
			return sd
		}
	}
	return nil
}

func (d *Definitions) local(url string) *StructureDefinition {
	d.mu.Lock()
	defer d.mu.Unlock()
	if sd, ok := d.sds[url]; ok {
		return sd
	}
	r, ok := d.raw[url]
	if !ok {
		return nil
	}
	sd := new(StructureDefinition)
	if err := json.Unmarshal(r, sd); err != nil {
		sd = nil
	}
	d.sds[strings.Clone(url)] = sd
	delete(d.raw, url)
	return sd
}

// Add reads conformance resources into the set: a StructureDefinition,
// ValueSet or CodeSystem, or a Bundle of them. Other resources are ignored.
// A StructureDefinition without a snapshot gets one generated on first use.
func (d *Definitions) Add(raw []byte) error {
	if d.parent == nil {
		return fmt.Errorf("profile: the core definitions are read-only; add to a set made by New")
	}
	var head struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("profile: add: %w", err)
	}
	switch head.ResourceType {
	case "Bundle":
		// Value sets are expanded again on every addition of terminology:
		// a Bundle's are added together, and expanded once.
		var terms []map[string]any
		for _, e := range head.Entry {
			if len(e.Resource) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(e.Resource, &m); err != nil {
				return fmt.Errorf("profile: add: %w", err)
			}
			if rt := m["resourceType"]; rt == "ValueSet" || rt == "CodeSystem" {
				terms = append(terms, m)
				continue
			}
			if err := d.Add(e.Resource); err != nil {
				return err
			}
		}
		if len(terms) > 0 {
			d.addTerminology(terms...)
		}
	case "StructureDefinition":
		sd := new(StructureDefinition)
		if err := json.Unmarshal(raw, sd); err != nil {
			return fmt.Errorf("profile: add StructureDefinition: %w", err)
		}
		if sd.URL == "" {
			return fmt.Errorf("profile: add StructureDefinition: it has no url")
		}
		d.mu.Lock()
		d.sds[sd.URL] = sd
		d.compiled = map[string]*compiled{}
		d.failed = map[string]error{}
		d.fast.Store(nil)
		d.defCache.Clear()
		d.targetCache.Clear()
		d.mu.Unlock()
	case "ImplementationGuide":
		var ig struct {
			Global []struct {
				Type    string `json:"type"`
				Profile string `json:"profile"`
			} `json:"global"`
		}
		if err := json.Unmarshal(raw, &ig); err != nil {
			return fmt.Errorf("profile: add ImplementationGuide: %w", err)
		}
		d.mu.Lock()
		for _, g := range ig.Global {
			d.globals[g.Type] = append(d.globals[g.Type], g.Profile)
		}
		d.mu.Unlock()
	case "ValueSet", "CodeSystem":
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("profile: add %s: %w", head.ResourceType, err)
		}
		d.addTerminology(m)
	}
	return nil
}

// Remove forgets the conformance resource with a canonical URL that was
// added to the set (a StructureDefinition, ValueSet or CodeSystem); what
// was compiled from the set is compiled again on next use. The core
// definitions cannot be removed.
func (d *Definitions) Remove(url string) {
	if d.parent == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sds, url)
	delete(d.raw, url)
	kept := d.termSrc[:0]
	for _, m := range d.termSrc {
		if u, _ := m["url"].(string); u != url {
			kept = append(kept, m)
		}
	}
	d.termSrc = kept
	known := knownTerms{d: d.parent}
	d.terms = expand.Build(d.termSrc, known)
	d.codes = map[string]map[string]bool{}
	d.compiled = map[string]*compiled{}
	d.failed = map[string]error{}
	d.fast.Store(nil)
	d.defCache.Clear()
	d.targetCache.Clear()
}

// addTerminology expands again all the value sets added so far, so that the
// order in which a ValueSet and its CodeSystem arrive does not matter.
func (d *Definitions) addTerminology(ms ...map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range ms {
		// A resource added again replaces its earlier version.
		kept := d.termSrc[:0]
		for _, old := range d.termSrc {
			if old["url"] != m["url"] || old["resourceType"] != m["resourceType"] {
				kept = append(kept, old)
			}
		}
		d.termSrc = append(kept, m)
	}
	known := knownTerms{}
	if d.parent != nil {
		known.d = d.parent
	}
	d.terms = expand.Build(d.termSrc, known)
	d.codes = map[string]map[string]bool{}
}

// globalProfiles are the profiles added ImplementationGuides apply to every
// resource of a type.
func (d *Definitions) globalProfiles(typ string) []string {
	var out []string
	for s := d; s != nil; s = s.parent {
		s.mu.Lock()
		out = append(out, s.globals[typ]...)
		s.mu.Unlock()
	}
	return out
}

// knownTerms answers expand.Build from the parent sets.
type knownTerms struct{ d *Definitions }

func (k knownTerms) SystemCodes(system string) ([]string, map[string][]string, bool) {
	if k.d == nil {
		return nil, nil, false
	}
	for s := k.d; s != nil; s = s.parent {
		if codes, ok := s.terms.CodeSystems[system]; ok {
			return codes, nil, true
		}
	}
	return nil, nil, false
}

func (k knownTerms) ValueSet(url string) *expand.Expansion {
	if k.d == nil {
		return nil
	}
	for s := k.d; s != nil; s = s.parent {
		if x, ok := s.terms.ValueSets[url]; ok {
			return x
		}
	}
	return nil
}
