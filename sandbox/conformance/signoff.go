package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// CanonicalJSON returns a FHIR resource in the canonical JSON that FHIR
// defines for signatures (R4 json.html#canonical): no whitespace outside
// values, every object's properties in alphabetical order, numbers as
// written, and without Resource.meta and Resource.text. Leaving out meta
// makes the form, and so its hash, the same before and after a store
// stamps versionId and lastUpdated on the resource.
func CanonicalJSON(resource []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(resource))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("conformance: canonical JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("conformance: canonical JSON: more than one value")
	}
	if _, ok := v["resourceType"].(string); !ok {
		return nil, errors.New("conformance: canonical JSON: not a FHIR resource (no resourceType)")
	}
	delete(v, "meta")
	delete(v, "text")
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	// encoding/json writes map keys sorted and no whitespace.
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// ContentHash returns a report's canonical JSON and the hex SHA-256 of it:
// what a reviewer's approval records, and what anyone holding the report
// recomputes to see that it is the one approved.
func ContentHash(report []byte) (canonical []byte, sum string, err error) {
	canonical, err = CanonicalJSON(report)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(canonical)
	return canonical, hex.EncodeToString(h[:]), nil
}

// Change is how a check's result moved from one run to another.
type Change string

// The changes of a CheckDiff.
const (
	// NewFailure: the check fails (or warns) now and did not before.
	NewFailure Change = "new-failure"
	// Fixed: the check failed before and passes now.
	Fixed Change = "fixed"
	// Unchanged: the same result in both runs.
	Unchanged Change = "unchanged"
	// Changed: another move, e.g. from pass to skip when the later run
	// held nothing the check is about.
	Changed Change = "changed"
	// Added and Removed: the check is in one run only.
	Added   Change = "added"
	Removed Change = "removed"
)

// CheckDiff is one check's result in two runs. Before and After are the
// TestReport assert results (pass, fail, warning, skip), "" where the run
// has no such check.
type CheckDiff struct {
	Check         Check
	Before, After string
	Change        Change
}

// Diff compares two runs check by check, in the order of the later run's
// checks, then those only the earlier one had.
func Diff(before, after *Run) []CheckDiff {
	was := map[string]Outcome{}
	for _, o := range before.Outcomes {
		was[o.Check.ID] = o
	}
	failing := func(r string) bool { return r == "fail" || r == "warning" }
	var out []CheckDiff
	seen := map[string]bool{}
	for _, o := range after.Outcomes {
		seen[o.Check.ID] = true
		d := CheckDiff{Check: o.Check, After: assertResult(o)}
		b, ok := was[o.Check.ID]
		if ok {
			d.Before = assertResult(b)
		}
		switch {
		case failing(d.After) && !failing(d.Before):
			d.Change = NewFailure
		case !ok:
			d.Change = Added
		case d.Before == d.After:
			d.Change = Unchanged
		case failing(d.Before) && d.After == "pass":
			d.Change = Fixed
		default:
			d.Change = Changed
		}
		out = append(out, d)
	}
	for _, o := range before.Outcomes {
		if !seen[o.Check.ID] {
			out = append(out, CheckDiff{Check: o.Check, Before: assertResult(o), Change: Removed})
		}
	}
	return out
}

// DiffCounts counts a diff's checks by change.
func DiffCounts(diff []CheckDiff) map[Change]int {
	out := map[Change]int{}
	for _, d := range diff {
		out[d.Change]++
	}
	return out
}
