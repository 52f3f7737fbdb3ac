package vkp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/connectors/nin"
	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// Checks implements connectors.CheckConnector.
func (c *Connector) Checks() []connectors.Check {
	return SubmissionChecks(ID, "VKP", func(x *connectors.Exchange) bool {
		return x.Kind == http.MethodPost && strings.Contains(x.Path, Base+"/") && strings.HasSuffix(x.Path, "/Bundle")
	}, Alarm, Supervision, Dispense, Measurements)
}

// SubmissionChecks are the checks of a hub's submissions, with ids
// prefixed by id: isSubmission picks the exchanges that are submissions,
// hub names the hub in descriptions, and kinds are the submissions it
// takes. A submission the hub answered with an injected fault (429, 503)
// or refused before reading it (401, 403, 404) is not judged. The checks
// run as each message arrives (connectors.Evidence), so a submission the
// hub accepted passes the rules it enforces without being judged again;
// a refused one is judged in full, so that its report names every issue.
func SubmissionChecks(id, hub string, isSubmission func(*connectors.Exchange) bool, kinds ...Kind) []connectors.Check {
	// sub judges the exchange's Bundle. An accepted submission passes a
	// rule the hub enforces (Parse refuses whatever breaks it) without
	// being judged again: checks run as each message arrives.
	sub := func(enforced bool, judge func(b *bundle) connectors.Result) func(x *connectors.Exchange) connectors.Result {
		return func(x *connectors.Exchange) connectors.Result {
			if x.Connector != id || !isSubmission(x) {
				return na
			}
			if !judged(x) {
				return na
			}
			if enforced && accepted(x) {
				return pass
			}
			b := parseBundle(x.Request)
			if b == nil {
				return na
			}
			return judge(b)
		}
	}
	return []connectors.Check{
		{ID: id + "-bundle-composition", Description: "A submission to the " + hub + " hub is a Bundle whose resources make one kind of submission (" + kindList(kinds) + ").",
			Judge: func(x *connectors.Exchange) connectors.Result {
				if x.Connector != id || !isSubmission(x) || !judged(x) {
					return na
				}
				if accepted(x) {
					return pass
				}
				b := parseBundle(x.Request)
				if b == nil {
					return fail(outcome.Structure, "the submission is not a Bundle with entries", "Bundle")
				}
				if b.typ != "transaction" && b.typ != "collection" {
					return fail(outcome.Invalid, fmt.Sprintf("the Bundle's type is %q, not transaction or collection", clip(b.typ)), "Bundle.type")
				}
				kind, err := classify(b.entries)
				if err != nil {
					return connectors.Result{Verdict: connectors.Fail, Issues: outcome.From(err).Issues}
				}
				if !slices.Contains(kinds, kind) {
					return fail(outcome.NotSupported, fmt.Sprintf("the %s hub does not take %s submissions", hub, kind), "Bundle.entry")
				}
				return pass
			}},
		{ID: id + "-code-systems", Description: "Every coding of a " + hub + " code system (vkp-alert-code, vkp-severity-level, vkp-composition-category, vkp-composition-event, …) has a code of that system.",
			Judge: sub(true, func(b *bundle) connectors.Result {
				var issues []outcome.Issue
				used := false
				for i, e := range b.entries {
					walkCodings(e.Resource, "", func(system, _, _ string) { used = used || codeSets()[system] != nil })
					issues = append(issues, CodeIssues(e.Resource, fmt.Sprintf("Bundle.entry[%d].resource.%s", i, e.Type))...)
				}
				return verdict(issues, used)
			})},
		{ID: id + "-subject-identifier", Description: "Every resource of a submission names its person by national identity number (subject.identifier, system " + nin.SystemFNR + " or " + nin.SystemDNR + ", 11 digits).",
			Judge: sub(true, func(b *bundle) connectors.Result {
				var issues []outcome.Issue
				s := &Submission{}
				for i, e := range b.entries {
					if err := s.person(e, fmt.Sprintf("Bundle.entry[%d].resource", i)); err != nil {
						issues = append(issues, outcome.From(err).Issues...)
					} else if len(s.Person) != 11 {
						issues = append(issues, issue(outcome.Value, "the national identity number is not 11 digits", fmt.Sprintf("Bundle.entry[%d].resource.%s.identifier.value", i, subjectKey(e.Type))))
					}
				}
				return verdict(issues, true)
			})},
		{ID: id + "-synthetic-persons", Description: "Every national identity number in a submission is synthetic (month + 80 or + 40), so that no real person's data reaches the sandbox.",
			Judge: func(x *connectors.Exchange) connectors.Result {
				if x.Connector != id || !isSubmission(x) || len(x.Request) == 0 || !judged(x) {
					return na
				}
				if accepted(x) {
					return pass
				}
				if err := nin.Check(x.Request, nil); err != nil && err.Category == outcome.Unprocessable {
					return connectors.Result{Verdict: connectors.Fail, Issues: err.Issues}
				}
				return pass
			}},
		{ID: id + "-timestamps-zone", Description: "Every date-time with a time of day in a submission carries its time zone (Z or ±hh:mm), as FHIR requires.",
			Judge: sub(true, func(b *bundle) connectors.Result {
				var issues []outcome.Issue
				for i, e := range b.entries {
					walkStrings(e.Resource, fmt.Sprintf("Bundle.entry[%d].resource.%s", i, e.Type), func(s, at string) {
						if dateTime.MatchString(s) && !zoned.MatchString(s) {
							issues = append(issues, issue(outcome.Value, fmt.Sprintf("the time %q has no time zone", clip(s)), at))
						}
					})
				}
				return verdict(issues, true)
			})},
		{ID: id + "-profiles", Description: "Every resource of a submission conforms to its " + hub + " profile (VKP R4 0.9.0: vkp-Encounter, vkp-DetectedIssue, vkp-Composition, vkp-MedicationDispense, the vkp-Observation profiles).",
			Judge: sub(true, func(b *bundle) connectors.Result {
				kind, err := classify(b.entries)
				if err != nil {
					return na
				}
				defs, err := spec.Definitions()
				if err != nil {
					return na
				}
				var issues []outcome.Issue
				for i, e := range b.entries {
					for _, is := range defs.Validate(e.Raw, profile.Options{Profiles: []string{ProfileOf(kind, e)}}) {
						if is.Severity == outcome.ErrorLevel || is.Severity == outcome.Fatal {
							is.Issue.Expression = prefixed(fmt.Sprintf("Bundle.entry[%d].resource.", i), is.Issue.Expression)
							issues = append(issues, is.Issue)
						}
					}
				}
				return verdict(issues, true)
			})},
		{ID: id + "-retry-safe", Description: "Every resource of a submission carries its own identifier (system urn:ietf:rfc:3986, a urn:uuid), so that a retried submission updates what the first stored instead of duplicating it.",
			Judge: func(x *connectors.Exchange) connectors.Result {
				if x.Connector == id && isSubmission(x) && accepted(x) {
					return retrySafe(x.Request)
				}
				return sub(false, func(b *bundle) connectors.Result {
					var issues []outcome.Issue
					for i, e := range b.entries {
						if ownIdentifier(e.Resource) == "" {
							issues = append(issues, retryIssue(e.Type, i))
						}
					}
					return verdict(issues, true)
				})(x)
			}},
	}
}

var (
	na   = connectors.Result{Verdict: connectors.NotApplicable}
	pass = connectors.Result{Verdict: connectors.Pass}

	dateTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}`)
	zoned    = regexp.MustCompile(`(Z|[+-]\d{2}:\d{2})$`)
)

func issue(code outcome.Code, diag, at string) outcome.Issue {
	return outcome.Issue{Severity: outcome.ErrorLevel, Code: code, Diagnostics: diag, Expression: []string{at}}
}

func fail(code outcome.Code, diag, at string) connectors.Result {
	return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{issue(code, diag, at)}}
}

// verdict fails with issues, else passes when the check applied.
func verdict(issues []outcome.Issue, applied bool) connectors.Result {
	switch {
	case len(issues) > 0:
		return connectors.Result{Verdict: connectors.Fail, Issues: issues}
	case applied:
		return pass
	}
	return na
}

func kindList(kinds []Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// accepted reports whether the hub accepted the exchange's submission,
// which it does only when Parse found nothing wrong.
func accepted(x *connectors.Exchange) bool { return x.Status/100 == 2 }

// judged reports whether the hub read the exchange's submission: not one
// answered with an injected fault (429, 503) or refused before it was read
// (401, 403, 404).
func judged(x *connectors.Exchange) bool {
	switch x.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return false
	}
	return true
}

// bundle is a submission's type and entries as a check reads them.
type bundle struct {
	typ     string
	entries []Entry
}

// parseBundle reads a submitted Bundle's entries; nil when it is not one.
func parseBundle(body []byte) *bundle {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" || len(b.Entry) == 0 || len(b.Entry) > MaxEntries {
		return nil
	}
	out := &bundle{typ: b.Type}
	for _, e := range b.Entry {
		dec := json.NewDecoder(bytes.NewReader(e.Resource))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil || m == nil {
			return nil
		}
		typ, _ := m["resourceType"].(string)
		out.entries = append(out.entries, Entry{Type: typ, Resource: m, Raw: e.Resource})
	}
	return out
}

func retryIssue(typ string, i int) outcome.Issue {
	return issue(outcome.Required, typ+" has no identifier of system urn:ietf:rfc:3986: a retry would store it twice",
		fmt.Sprintf("Bundle.entry[%d].resource.identifier", i))
}

// walkStrings calls fn for every string in v with its path.
func walkStrings(v any, path string, fn func(s, at string)) {
	switch v := v.(type) {
	case string:
		fn(v, path)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			walkStrings(v[k], path+"."+k, fn)
		}
	case []any:
		for i, e := range v {
			walkStrings(e, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}
