package vkp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore/outcome"
)

// Code systems of the guide that submissions use most; CodeIssues checks
// every code system of the guide.
const (
	SystemAlertCode           = "http://ehelse.no/fhir/CodeSystem/vkp-alert-code-v090"
	SystemSeverityLevel       = "http://ehelse.no/fhir/CodeSystem/vkp-severity-level-v090"
	SystemCompositionCategory = "http://ehelse.no/fhir/CodeSystem/vkp-composition-category-v090"
	SystemCompositionEvent    = "http://ehelse.no/fhir/CodeSystem/vkp-composition-event-v090"
	SystemDispenseEvents      = "http://ehelse.no/fhir/CodeSystem/vkp-medicationdispense-events-v090"
	// severityValueSet is the system the severity-level extension fixes
	// its codings to: the value set's URL, as the guide publishes it.
	severityValueSet = "http://ehelse.no/fhir/ValueSet/vkp-severity-level-v090"
)

// Profiles of the guide not named in package spec.
const (
	CompositionProfile           = "http://ehelse.no/fhir/StructureDefinition/vkp-Composition-v090"
	QuestionnaireResponseProfile = "http://ehelse.no/fhir/StructureDefinition/vkp-QuestionnaireReponse-v090"
)

var (
	codesOnce sync.Once
	codes     map[string]map[string]bool // system -> codes, every level of the hierarchy
)

// CodeSystems returns the guide's code systems: each system's URL and its
// codes, the nested ones included.
func CodeSystems() map[string][]string {
	out := map[string][]string{}
	for sys, cs := range codeSets() {
		for c := range cs {
			out[sys] = append(out[sys], c)
		}
		slices.Sort(out[sys])
	}
	return out
}

func codeSets() map[string]map[string]bool {
	codesOnce.Do(func() {
		codes = map[string]map[string]bool{}
		type concept struct {
			Code    string            `json:"code"`
			Concept []json.RawMessage `json:"concept"`
		}
		var add func(set map[string]bool, raw []json.RawMessage)
		add = func(set map[string]bool, raw []json.RawMessage) {
			for _, r := range raw {
				var c concept
				if json.Unmarshal(r, &c) == nil {
					set[c.Code] = true
					add(set, c.Concept)
				}
			}
		}
		for _, r := range spec.Resources() {
			var cs struct {
				ResourceType string            `json:"resourceType"`
				URL          string            `json:"url"`
				Concept      []json.RawMessage `json:"concept"`
			}
			if json.Unmarshal(r, &cs) != nil || cs.ResourceType != "CodeSystem" {
				continue
			}
			set := map[string]bool{}
			add(set, cs.Concept)
			codes[cs.URL] = set
		}
		codes[severityValueSet] = codes[SystemSeverityLevel]
	})
	return codes
}

// CodeIssues names every coding in v (a resource decoded with UseNumber,
// at path) whose system is one of the guide's code systems and whose code
// is not in it.
func CodeIssues(v any, path string) []outcome.Issue {
	if !hasCodeIssue(v, codeSets()) {
		// Nearly every resource has none: the walk that names them, in
		// order, builds a path for every element, which this one does not.
		return nil
	}
	var issues []outcome.Issue
	walkCodings(v, path, func(system, code, at string) {
		set := codeSets()[system]
		if set == nil || set[code] {
			return
		}
		issues = append(issues, outcome.Issue{Severity: outcome.ErrorLevel, Code: codeInvalid,
			Diagnostics: fmt.Sprintf("code %q is not in the code system %s", clip(code), system), Expression: []string{at + ".code"}})
	})
	return issues
}

// hasCodeIssue reports whether CodeIssues finds any issue in v.
func hasCodeIssue(v any, sets map[string]map[string]bool) bool {
	switch v := v.(type) {
	case map[string]any:
		sys, ok1 := v["system"].(string)
		code, ok2 := v["code"].(string)
		if ok1 && ok2 {
			if set := sets[sys]; set != nil && !set[code] {
				return true
			}
		}
		for _, e := range v {
			if hasCodeIssue(e, sets) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasCodeIssue(e, sets) {
				return true
			}
		}
	}
	return false
}

// walkCodings calls fn for every object with a string system and code.
func walkCodings(v any, path string, fn func(system, code, at string)) {
	switch v := v.(type) {
	case map[string]any:
		sys, ok1 := v["system"].(string)
		code, ok2 := v["code"].(string)
		if ok1 && ok2 {
			fn(sys, code, path)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walkCodings(v[k], path+"."+k, fn)
		}
	case []any:
		for i, e := range v {
			walkCodings(e, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}

// codeInvalid is the IssueType of a code not in its system.
const codeInvalid outcome.Code = "code-invalid"
