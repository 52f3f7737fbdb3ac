// Package profile validates FHIR R4 resources against StructureDefinitions:
// the core definitions of the specification (embedded, compiled lazily per
// type) and profiles a caller adds. It checks cardinality, choice types,
// primitive formats, fixed and pattern values, bindings to value sets it can
// expand, slicing, reference targets and invariants (FHIRPath, with
// github.com/gofhir/fhirpath), and generates snapshots from differentials.
//
// It does not speak HTTP, store anything, or reach a terminology server:
// codes of systems it cannot expand (SNOMED CT, LOINC) are accepted with an
// informational issue.
package profile
