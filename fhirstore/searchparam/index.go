package searchparam

import "math"

// Open ends of a date range: a Period without start or end covers all time on that side.
const (
	MinTime int64 = math.MinInt64
	MaxTime int64 = math.MaxInt64
)

// Index is every search value of one resource, one row per value, grouped by
// parameter type so that each slice maps to one SQL index table.
//
// Every row carries Param, the parameter code. Rows of a composite parameter
// carry that composite's code, a Group number unique within the Index (1, 2, …)
// shared by all rows taken from the same element, and the Component position
// in the composite's definition; plain rows have Group 0. A store matches a
// composite search by joining the component rows of one Group.
type Index struct {
	ResourceType string
	ID           string

	Strings    []StringRow
	Tokens     []TokenRow
	References []ReferenceRow
	Dates      []DateRow
	Numbers    []NumberRow
	Quantities []QuantityRow
	URIs       []URIRow
}

// StringRow is one value of a string parameter.
type StringRow struct {
	Param            string
	Group, Component int
	// Normalized is lower case without diacritics, for the default
	// starts-with match and :contains (see Normalize).
	Normalized string
	// Exact is the value as written, for :exact.
	Exact string
}

// TokenRow is one value of a token parameter.
//
// A CodeableConcept gives one row per coding and, when it has text, one more
// row with only Text set, so a row with an empty Code exists only for :text.
type TokenRow struct {
	Param            string
	Group, Component int
	System           string
	Code             string
	// Text is the normalized display or text, for :text.
	Text string
	// TypeSystem and TypeCode are the Identifier.type coding, for :of-type
	// (matched with System and Code as the identifier's system and value).
	TypeSystem, TypeCode string
}

// ReferenceRow is one value of a reference parameter.
//
// Relative references ("Patient/1") set TargetType and TargetID; absolute
// ones also set URL, and TargetType/TargetID when the URL ends in Type/id.
// Canonical references set URL and, after a '|', Version. A reference by
// identifier sets IdentifierSystem and IdentifierValue for :identifier.
// References to contained resources ("#id") are not indexed: nothing outside
// the resource can be searched for through them.
type ReferenceRow struct {
	Param            string
	Group, Component int
	TargetType       string
	TargetID         string
	Version          string
	URL              string
	IdentifierSystem string
	IdentifierValue  string
}

// DateRow is one value of a date parameter as the half-open range
// [Low, High) of UTC milliseconds that its precision covers: "2024-03" is the
// whole of March. Open ends are MinTime and MaxTime.
type DateRow struct {
	Param            string
	Group, Component int
	Low, High        int64
}

// NumberRow is one value of a number parameter. Value is the decimal as
// written; [Low, High) is the range its precision implies (100 is [99.5, 100.5)).
// A Range has an empty Value, and an open side is ±Inf (SQL stores it as ±1e999
// or the store clamps it).
type NumberRow struct {
	Param            string
	Group, Component int
	Value            string
	Low, High        float64
}

// QuantityRow is one value of a quantity parameter: a Quantity (and its
// profiles Age, Duration, Distance, Count, SimpleQuantity), Money (System is
// ISO 4217, Code the currency) or Range (Value empty, Low and High the bounds).
type QuantityRow struct {
	Param            string
	Group, Component int
	Value            string
	Low, High        float64
	System, Code     string
	Unit             string
}

// URIRow is one value of a uri parameter.
type URIRow struct {
	Param            string
	Group, Component int
	Value            string
}
