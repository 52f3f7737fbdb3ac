package active

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// Specification sections the scope tests cite.
const (
	citePatientScopes = "https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes"
	citeLaunch        = "https://hl7.org/fhir/smart-app-launch/app-launch.html#step-4-app-exchanges-authorization-code-for-access-token"
)

// compartmentTypes are the types whose resources of the other patient
// the suite collects to look for.
var compartmentTypes = []string{"Observation", "Encounter", "Condition"}

func scopeTests() []Test {
	leak := []Need{NeedPatientToken}
	return []Test{
		{ID: "active.patient-launch", Title: "Issues a patient-level token through a standalone launch",
			Cite: citeLaunch, Severity: conformance.SeverityError, Needs: []Need{NeedSMART}, Run: testPatientLaunch},
		{ID: "active.patient-scope-read-own", Title: "A patient token reads its own patient",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Run: testReadOwn},
		{ID: "active.patient-scope-read-other-patient", Title: "A patient token cannot read another patient's resources",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Needs: leak, Run: testReadOther},
		{ID: "active.patient-scope-search", Title: "A patient token's searches find nothing of another patient",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Needs: leak, Run: testSearchOther},
		{ID: "active.patient-scope-include", Title: "A patient token's _include and _revinclude add nothing of another patient",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Needs: leak, Run: testIncludeOther},
		{ID: "active.patient-scope-chain", Title: "A patient token's chained searches cannot reach another patient",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Needs: leak, Run: testChainOther},
		{ID: "active.patient-scope-transaction", Title: "A patient token's transaction or batch cannot read another patient",
			Cite: citePatientScopes, Severity: conformance.SeverityError, Needs: leak, Run: testTransactionOther},
	}
}

// patientIDs are the ids of a page of patients, read with the backend
// token (or none on an open server).
func (s *Session) patientIDs(ctx context.Context) []string {
	if s.token == "" && !s.open {
		return nil
	}
	_, b, err := s.search(ctx, "Patient?_count=20")
	if err != nil || b == nil {
		return nil
	}
	var ids []string
	for _, m := range b.Matches {
		if id, ok := strings.CutPrefix(m, "Patient/"); ok && id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// findOther picks another patient than the token's (unless given) and
// collects resources of its compartment with the backend token.
func (s *Session) findOther(ctx context.Context) {
	if s.otherPatient == "" {
		for _, id := range s.patientIDs(ctx) {
			if id != s.patient {
				s.otherPatient = id
				break
			}
		}
		if s.otherPatient == "" {
			s.noOther = "the backend token found no second patient"
			if s.token == "" && !s.open {
				s.noOther = "no backend token"
			}
			return
		}
	}
	s.otherRefs = map[string]bool{"Patient/" + s.otherPatient: true}
	if s.token == "" && !s.open {
		return
	}
	for _, t := range compartmentTypes {
		_, b, err := s.search(ctx, t+"?"+url.Values{"patient": {s.otherPatient}, "_count": {"20"}}.Encode())
		if err == nil && b != nil {
			for _, m := range b.Matches {
				s.otherRefs[m] = true
			}
		}
	}
}

func testReadOwn(ctx context.Context, s *Session) conformance.Result {
	if s.patientToken == "" {
		return skip("needs a patient-level token: %s", s.noPatient)
	}
	s.findOther(ctx)
	r, err := s.send(ctx, request{Method: "GET", URL: "Patient/" + s.patient, Token: s.patientToken})
	switch {
	case err != nil:
		return fail("no answer: %v", err)
	case r.Status != 200:
		return fail("Patient/%s answered %d to its own patient-level token", s.patient, r.Status)
	}
	if s.otherPatient == "" {
		return pass("read Patient/%s (no other patient to look for: %s)", s.patient, s.noOther)
	}
	return pass("read Patient/%s; Patient/%s and %d of its resources are what the next tests look for",
		s.patient, s.otherPatient, len(s.otherRefs)-1)
}

// leaks returns what of body, an answer to a patient token of patient
// own, is another patient's: a resource of others, another Patient, or
// a resource whose subject or patient is another Patient. A body that
// is not JSON reveals nothing the suite can name.
func leaks(body []byte, own string, others map[string]bool) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 64 {
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case map[string]any:
			typ, id := str(x, "resourceType"), str(x, "id")
			if typ != "" && id != "" && typ != "Bundle" && typ != "OperationOutcome" {
				ref := typ + "/" + id
				switch {
				case others[ref]:
					out = append(out, ref)
				case typ == "Patient" && id != own:
					out = append(out, ref+" (another Patient)")
				default:
					for _, k := range []string{"subject", "patient"} {
						r := str(obj(x, k), "reference")
						if p, ok := patientOf(r); ok && p != own {
							out = append(out, fmt.Sprintf("%s (%s Patient/%s)", ref, k, p))
						}
					}
				}
			}
			for k, e := range x {
				// A contained resource is part of the one holding it, whose
				// own subject says whose it is.
				if k != "contained" {
					walk(e, depth+1)
				}
			}
		}
	}
	walk(v, 0)
	slices.Sort(out)
	return slices.Compact(out)
}

// patientOf is the id of a Patient reference, relative (Patient/id) or
// absolute (…/Patient/id, a version after it or not).
func patientOf(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "Patient/")
	if !ok {
		i := strings.LastIndex(ref, "/Patient/")
		if i < 0 || !strings.Contains(ref[:i], "://") {
			return "", false
		}
		rest = ref[i+len("/Patient/"):]
	}
	id, _, _ := strings.Cut(rest, "/")
	return id, id != ""
}

// probeLeaks sends each request with the patient token and fails on the
// first answer that reveals another patient's resource.
func (s *Session) probeLeaks(ctx context.Context, reqs []request) conformance.Result {
	refused := 0
	for _, req := range reqs {
		req.Token = s.patientToken
		r, err := s.send(ctx, req)
		if err != nil {
			return fail("%s %s: no answer: %v", req.Method, req.URL, err)
		}
		if r.Status >= 400 {
			refused++
			continue
		}
		if l := leaks(r.Body, s.patient, s.otherRefs); len(l) > 0 {
			if len(l) > 5 {
				l = append(l[:5], fmt.Sprintf("and %d more", len(l)-5))
			}
			return fail("%s %s answered %d with another patient's resources: %s", req.Method, req.URL, r.Status, strings.Join(l, ", "))
		}
	}
	return pass("%d of %d requests for Patient/%s's data refused, the rest revealed nothing of it", refused, len(reqs), s.otherPatient)
}

// otherOf returns up to n of the other patient's resources of type typ.
func (s *Session) otherOf(typ string, n int) []string {
	var out []string
	for ref := range s.otherRefs {
		if strings.HasPrefix(ref, typ+"/") {
			out = append(out, ref)
		}
	}
	slices.Sort(out)
	return out[:min(n, len(out))]
}

func get(u string) request { return request{Method: "GET", URL: u} }

func testReadOther(ctx context.Context, s *Session) conformance.Result {
	o := url.PathEscape(s.otherPatient)
	reqs := []request{get("Patient/" + o), get("Patient/" + o + "/_history"), get("Patient/" + o + "/$everything")}
	for _, t := range compartmentTypes {
		for _, ref := range s.otherOf(t, 1) {
			reqs = append(reqs, get(ref))
		}
	}
	return s.probeLeaks(ctx, reqs)
}

func testSearchOther(ctx context.Context, s *Session) conformance.Result {
	o := url.QueryEscape(s.otherPatient)
	return s.probeLeaks(ctx, []request{
		get("Patient?_id=" + o), get("Patient?_count=50"),
		get("Observation?patient=" + o), get("Observation?subject=Patient/" + o), get("Observation?_count=50"),
		get("Encounter?patient=" + o), get("Condition?patient=" + o),
		get("Patient/" + url.PathEscape(s.otherPatient) + "/Observation"),
		{Method: "POST", URL: "Observation/_search", ContentType: "application/x-www-form-urlencoded", Body: "patient=" + o},
	})
}

func testIncludeOther(ctx context.Context, s *Session) conformance.Result {
	return s.probeLeaks(ctx, []request{
		get("Observation?_include=Observation:subject&_count=50"),
		get("Patient?_revinclude=Observation:subject&_count=50"),
		get("Patient?_id=" + url.QueryEscape(s.patient) + "&_revinclude=Observation:subject&_revinclude=Encounter:subject&_count=50"),
		get("Encounter?_include=Encounter:subject&_count=50"),
	})
}

func testChainOther(ctx context.Context, s *Session) conformance.Result {
	o := url.QueryEscape(s.otherPatient)
	return s.probeLeaks(ctx, []request{
		get("Observation?subject:Patient._id=" + o),
		get("Observation?patient._id=" + o),
		get("Encounter?subject:Patient._id=" + o),
		get("Patient?_has:Observation:subject:_id=" + url.QueryEscape(strings.TrimPrefix(firstOr(s.otherOf("Observation", 1), ""), "Observation/"))),
	})
}

func firstOr(l []string, def string) string {
	if len(l) == 0 {
		return def
	}
	return l[0]
}

func testTransactionOther(ctx context.Context, s *Session) conformance.Result {
	entries := []any{map[string]any{"request": map[string]any{"method": "GET", "url": "Patient/" + s.otherPatient}}}
	for _, ref := range s.otherOf("Observation", 2) {
		entries = append(entries, map[string]any{"request": map[string]any{"method": "GET", "url": ref}})
	}
	var reqs []request
	for _, typ := range []string{"transaction", "batch"} {
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries})
		reqs = append(reqs, request{Method: "POST", URL: s.base, ContentType: "application/fhir+json", Body: string(b)})
	}
	return s.probeLeaks(ctx, reqs)
}
