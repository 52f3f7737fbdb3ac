// Package expand expands FHIR value sets to code lists where the code systems
// at hand allow it. The generator of package profile uses it on the R4 core
// value sets, and package profile on the ones a supplier adds.
//
// It is not a terminology server: filters other than is-a and descendent-of
// make a system "open", its codes accepted unchecked.
package expand

import "sort"

// Expansion is an expanded value set: its codes by system, and the systems
// (or imported value sets) it cannot enumerate.
type Expansion struct {
	Codes map[string][]string `json:"codes,omitempty"`
	Open  []string            `json:"open,omitempty"`
}

// Terminology holds expanded value sets and the codes of complete code systems.
type Terminology struct {
	ValueSets   map[string]*Expansion `json:"valueSets"`
	CodeSystems map[string][]string   `json:"codeSystems"`
}

// Known answers for what lies outside the resources being expanded: the
// codes of a complete code system and the expansion of a value set.
type Known interface {
	SystemCodes(system string) ([]string, map[string][]string, bool)
	ValueSet(url string) *Expansion
}

type codeSystem struct {
	codes    []string
	children map[string][]string
}

// Build expands every ValueSet among resources (FHIR JSON decoded into
// maps), reading the CodeSystems among them and, for the rest, known (which
// may be nil).
func Build(resources []map[string]any, known Known) Terminology {
	systems := map[string]*codeSystem{}
	sets := map[string]map[string]any{}
	for _, r := range resources {
		url, _ := r["url"].(string)
		switch r["resourceType"] {
		case "CodeSystem":
			if r["content"] != "complete" || systems[url] != nil {
				continue
			}
			cs := &codeSystem{children: map[string][]string{}}
			collect(cs, "", r["concept"])
			systems[url] = cs
		case "ValueSet":
			if sets[url] == nil {
				sets[url] = r
			}
		}
	}
	t := Terminology{ValueSets: map[string]*Expansion{}, CodeSystems: map[string][]string{}}
	for url, cs := range systems {
		t.CodeSystems[url] = sortedUnique(append([]string(nil), cs.codes...))
	}
	lookup := func(sys string) *codeSystem {
		if cs := systems[sys]; cs != nil {
			return cs
		}
		if known != nil {
			if codes, children, ok := known.SystemCodes(sys); ok {
				return &codeSystem{codes: codes, children: children}
			}
		}
		return nil
	}
	var expand func(url string, depth int) *Expansion
	expand = func(url string, depth int) *Expansion {
		if x, ok := t.ValueSets[url]; ok {
			return x
		}
		vs := sets[url]
		if vs == nil || depth > 10 {
			if known != nil {
				return known.ValueSet(url)
			}
			return nil
		}
		x := &Expansion{Codes: map[string][]string{}}
		compose, _ := vs["compose"].(map[string]any)
		includes, _ := compose["include"].([]any)
		for _, inc := range includes {
			if m, ok := inc.(map[string]any); ok {
				include(x, m, lookup, func(u string) *Expansion { return expand(u, depth+1) })
			}
		}
		excludes, _ := compose["exclude"].([]any)
		for _, exc := range excludes {
			exclude(x, exc)
		}
		for sys, codes := range x.Codes {
			x.Codes[sys] = sortedUnique(codes)
		}
		x.Open = sortedUnique(x.Open)
		t.ValueSets[url] = x
		return x
	}
	for url := range sets {
		expand(url, 0)
	}
	return t
}

func exclude(x *Expansion, exc any) {
	m, _ := exc.(map[string]any)
	sys, _ := m["system"].(string)
	concepts, _ := m["concept"].([]any)
	drop := map[string]bool{}
	for _, c := range concepts {
		cm, _ := c.(map[string]any)
		code, _ := cm["code"].(string)
		drop[code] = true
	}
	var kept []string
	for _, c := range x.Codes[sys] {
		if !drop[c] {
			kept = append(kept, c)
		}
	}
	x.Codes[sys] = kept
}

func include(x *Expansion, inc map[string]any, lookup func(string) *codeSystem, expand func(string) *Expansion) {
	sys, _ := inc["system"].(string)
	if vss, ok := inc["valueSet"].([]any); ok && sys == "" {
		for _, v := range vss {
			u, _ := v.(string)
			sub := expand(u)
			if sub == nil {
				x.Open = append(x.Open, u)
				continue
			}
			for s, codes := range sub.Codes {
				x.Codes[s] = append(x.Codes[s], codes...)
			}
			x.Open = append(x.Open, sub.Open...)
		}
		return
	}
	if sys == "" {
		return
	}
	if concepts, ok := inc["concept"].([]any); ok {
		for _, c := range concepts {
			cm, _ := c.(map[string]any)
			code, _ := cm["code"].(string)
			x.Codes[sys] = append(x.Codes[sys], code)
		}
		return
	}
	cs := lookup(sys)
	if cs == nil {
		x.Open = append(x.Open, sys)
		return
	}
	filters, _ := inc["filter"].([]any)
	if len(filters) == 0 {
		x.Codes[sys] = append(x.Codes[sys], cs.codes...)
		return
	}
	if len(filters) == 1 {
		f, _ := filters[0].(map[string]any)
		op, _ := f["op"].(string)
		val, _ := f["value"].(string)
		if f["property"] == "concept" && (op == "is-a" || op == "descendent-of") {
			seen := map[string]bool{}
			var walk func(code string)
			walk = func(code string) {
				for _, ch := range cs.children[code] {
					if !seen[ch] {
						seen[ch] = true
						x.Codes[sys] = append(x.Codes[sys], ch)
						walk(ch)
					}
				}
			}
			if op == "is-a" {
				x.Codes[sys] = append(x.Codes[sys], val)
			}
			walk(val)
			return
		}
	}
	x.Open = append(x.Open, sys)
}

func collect(cs *codeSystem, parent string, concepts any) {
	list, _ := concepts.([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		code, _ := m["code"].(string)
		cs.codes = append(cs.codes, code)
		if parent != "" {
			cs.children[parent] = append(cs.children[parent], code)
		}
		collect(cs, code, m["concept"])
	}
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
