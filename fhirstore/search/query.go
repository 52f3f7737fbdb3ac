// Package search turns the parameters of a FHIR search request into a
// typed Query: which parameters, with which modifiers and prefixes, over
// which resource types, and the result parameters (_count, _sort, _include,
// _revinclude, _total, _summary, _elements).
//
// It checks every value against the parameter's type and reports a
// malformed one as an *outcome.Error (outcome.Incorrect) naming the parameter.
// Parameters it does not know are not errors: they are listed in
// Query.Ignored, and the caller decides (the FHIR API reports them, or
// refuses them under Prefer: handling=strict).
//
// It knows nothing of SQL or HTTP: a store compiles the Query, and the API
// parses the request into url.Values.
package search

import "hpsandbox/fhirstore/searchparam"

// Query is a parsed search.
type Query struct {
	// Types are the resource types searched: one for a type-level search,
	// the _type list (or none, meaning every type) for a system search.
	Types []string
	// Filters must all match (repeated parameters AND).
	Filters []*Filter
	// Compartment, when set, keeps resources in that compartment.
	Compartment *Compartment
	// Count is the page size (_count), within the limits of Options.
	Count int
	// Sort keys in order (_sort); none means the store's stable default.
	Sort []SortKey
	// Include and RevInclude are _include and _revinclude.
	Include, RevInclude []Include
	// Total is _total.
	Total TotalMode
	// Summary is _summary.
	Summary Summary
	// Elements is _elements: top-level element names to keep.
	Elements []string
	// Cursor continues an earlier search (the _cursor of a paging link).
	Cursor string
	// Offset skips matches (_offset); paging links use Cursor instead.
	Offset int
	// Ignored lists the parameters that were not understood, as written.
	Ignored []string
}

// Filter is one search parameter occurrence: its values are alternatives
// (a comma-separated list ORs).
type Filter struct {
	// Name is the parameter as written, with modifier and chain, for errors.
	Name string
	// Param is the parameter's definition; nil for _has.
	Param *searchparam.Param
	// Modifier is the modifier, if any, of the parameter.
	Modifier Modifier
	// Values are ORed. A :missing filter has one value.
	Values []Value
	// Chain, for a chained reference parameter, filters the referenced
	// resources; Values is then empty.
	Chain *Chain
	// Has is a reverse chain (_has); Param and Values are then empty.
	Has *Has
}

// Chain is the rest of a chained parameter (subject:Patient.name=x): the
// reference must point to a resource of one of Types that matches Filter.
type Chain struct {
	Types  []string
	Filter *Filter
}

// Has is a reverse chain (_has:Observation:patient:code=x): some resource of
// Type whose reference parameter Param points to the searched resource
// matches Filter.
type Has struct {
	Type   string
	Param  *searchparam.Param
	Filter *Filter
}

// Compartment names a compartment instance, as in Patient/123/Observation.
type Compartment struct {
	Type, ID string
}

// Modifier is a search parameter modifier.
type Modifier string

// The modifiers understood. A reference's type modifier (:Patient) is kept
// as TypeModifier with the type in Value.RefType.
const (
	NoModifier   Modifier = ""
	Missing      Modifier = "missing"
	Exact        Modifier = "exact"
	Contains     Modifier = "contains"
	Not          Modifier = "not"
	Text         Modifier = "text"
	OfType       Modifier = "of-type"
	Identifier   Modifier = "identifier"
	Below        Modifier = "below"
	Above        Modifier = "above"
	TypeModifier Modifier = "type"
)

// Prefix is the comparator of a number, date or quantity value.
type Prefix string

// The prefixes of FHIR R4.
const (
	EQ Prefix = "eq"
	NE Prefix = "ne"
	GT Prefix = "gt"
	LT Prefix = "lt"
	GE Prefix = "ge"
	LE Prefix = "le"
	SA Prefix = "sa"
	EB Prefix = "eb"
	AP Prefix = "ap"
)

// Value is one alternative of a filter. Which fields are set depends on the
// parameter's type.
type Value struct {
	// Raw is the value as written.
	Raw string
	// Prefix of a number, date or quantity value; EQ when none was given.
	Prefix Prefix
	// Missing is the value of a :missing filter.
	Missing bool

	// Str is a string or uri value; for strings it is normalized unless the
	// modifier is :exact.
	Str string

	// System and Code are a token's (or a :identifier reference's, or a
	// quantity's). HasSystem says a '|' was given: "|code" means no system.
	System, Code string
	HasSystem    bool
	// TypeSystem and TypeCode are the identifier type of :of-type.
	TypeSystem, TypeCode string

	// RefType and RefID are a local reference; RefURL an absolute or
	// canonical one, with RefVersion after '|'.
	RefType, RefID, RefURL, RefVersion string

	// Low and High are a date's range in UTC milliseconds, [Low, High).
	Low, High int64

	// Number is a number or quantity value; [NumLow, NumHigh) the range its
	// precision implies.
	Number, NumLow, NumHigh float64

	// Components are the parts of a composite value, in the order of the
	// parameter's components.
	Components []Value
}

// SortKey is one _sort key.
type SortKey struct {
	// Param is the parameter sorted by; _id and _lastUpdated included.
	Param *searchparam.Param
	Desc  bool
}

// Include is one _include or _revinclude.
type Include struct {
	// SourceType is the type holding the reference.
	SourceType string
	// Param is the reference parameter; nil for every one (*).
	Param *searchparam.Param
	// TargetType, if set, restricts the referenced type.
	TargetType string
	// Iterate applies the include to included resources too.
	Iterate bool
}

// TotalMode is _total.
type TotalMode string

// The _total modes; TotalDefault is none given.
const (
	TotalDefault  TotalMode = ""
	TotalNone     TotalMode = "none"
	TotalEstimate TotalMode = "estimate"
	TotalAccurate TotalMode = "accurate"
)

// Summary is _summary.
type Summary string

// The _summary modes; SummaryNone is none given (or false).
const (
	SummaryNone  Summary = ""
	SummaryTrue  Summary = "true"
	SummaryCount Summary = "count"
	SummaryData  Summary = "data"
	SummaryText  Summary = "text"
)
