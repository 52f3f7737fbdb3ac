// Package searchparam is the FHIR R4 search-parameter table and the extraction
// of search index values from resources at write time.
//
// The table is generated from the specification's SearchParameter definitions
// (spec/, `go generate`). Extract turns a resource into index rows, one per
// value, that a SQL store writes next to the resource. The package does no I/O
// and knows nothing of SQL or of parsing search requests; those belong to the
// store's search layer.
package searchparam

//go:generate go run ./internal/gen

import (
	"slices"
	"sync"
)

// Type is the kind of a search parameter, which decides how its values are indexed and matched.
type Type uint8

// The search parameter types of FHIR R4.
const (
	Number Type = iota + 1
	Date
	String
	Token
	Reference
	Composite
	Quantity
	URI
	Special
)

var typeNames = [...]string{"", "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"}

// String returns the type as the specification spells it (for example "token").
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Param is one search parameter of one resource type.
type Param struct {
	// Code is the name used in a search URL (for example "birthdate").
	Code string
	// URL is the canonical url of the SearchParameter definition.
	URL  string
	Type Type
	// Expression is the FHIRPath expression for this resource type only: the
	// parts of the specification's union that start with this type.
	Expression string
	// Targets are the resource types a reference parameter may point to, sorted.
	Targets []string
	// Modifiers and Comparators are the ones the definition lists, if any.
	Modifiers   []string
	Comparators []string
	// Components are the parts of a composite parameter.
	Components []Component
}

// Component is one part of a composite parameter: the code and type of the
// parameter it reuses and an expression relative to the composite's element.
type Component struct {
	Code       string
	URL        string
	Type       Type
	Expression string
}

var (
	tableOnce sync.Once
	byType    map[string]map[string]*Param
	sortedFor map[string][]*Param
)

func table() {
	tableOnce.Do(func() {
		byType = make(map[string]map[string]*Param, len(generatedParams))
		sortedFor = make(map[string][]*Param, len(generatedParams))
		for rt, ps := range generatedParams {
			m := make(map[string]*Param, len(ps))
			list := make([]*Param, len(ps))
			for i := range ps {
				m[ps[i].Code] = &ps[i]
				list[i] = &ps[i]
			}
			byType[rt] = m
			sortedFor[rt] = list
		}
	})
}

// Lookup returns the parameter code of resourceType. The result is shared and must not be modified.
func Lookup(resourceType, code string) (*Param, bool) {
	table()
	p, ok := byType[resourceType][code]
	return p, ok
}

// ForType returns every parameter of resourceType sorted by code, or nil for
// an unknown type. The slice is shared and must not be modified.
func ForType(resourceType string) []*Param {
	table()
	return sortedFor[resourceType]
}

// ResourceTypes returns every FHIR R4 resource type, sorted.
func ResourceTypes() []string {
	return slices.Clone(resourceTypes)
}

// PatientCompartment returns the codes of the parameters that put a resource
// of resourceType in a Patient's compartment, or nil if the type is never in it.
func PatientCompartment(resourceType string) []string {
	return slices.Clone(patientCompartment[resourceType])
}
