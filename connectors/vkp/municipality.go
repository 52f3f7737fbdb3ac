package vkp

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
	"hpsandbox/fixtures"
)

// MunicipalityCodeURL is the Norwegian basis profile's extension of an
// address that holds its municipality number (no-basis-municipalitycode,
// coding of urn:oid:2.16.578.1.12.4.1.1.3402).
const MunicipalityCodeURL = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"

// Resident reports whether the Patient body lives in m: one of its
// addresses that is not old (use "old") carries the municipality-code
// extension with m's number. A municipality serves the persons who live
// or stay in it (helse- og omsorgstjenesteloven §3-1), and the home
// address's municipality number is what every patient of the sandbox's
// synthetic world carries for that; managingOrganization is not set on
// them, and the organisations of episodes are hospitals' as often as the
// municipality's.
func Resident(body []byte, m fixtures.Municipality) bool {
	var p struct {
		ResourceType string `json:"resourceType"`
		Address      []struct {
			Use       string `json:"use"`
			Extension []struct {
				URL         string `json:"url"`
				ValueCoding struct {
					Code string `json:"code"`
				} `json:"valueCoding"`
			} `json:"extension"`
		} `json:"address"`
	}
	if json.Unmarshal(body, &p) != nil || p.ResourceType != "Patient" {
		return false
	}
	for _, a := range p.Address {
		if a.Use == "old" {
			continue
		}
		for _, e := range a.Extension {
			if e.URL == MunicipalityCodeURL && e.ValueCoding.Code == m.Code {
				return true
			}
		}
	}
	return false
}

// patientOf is the id of the Patient an EpisodeOfCare (patient) or a
// CarePlan (subject) is about; "" when it names no Patient by reference.
func patientOf(typ string, body []byte) string {
	var r struct {
		Patient struct{ Reference string } `json:"patient"`
		Subject struct{ Reference string } `json:"subject"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	ref := r.Subject.Reference
	if typ == "EpisodeOfCare" {
		ref = r.Patient.Reference
	}
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return ""
	}
	id := ref[i+len("Patient/"):]
	if id == "" || strings.ContainsAny(id, "/?#") {
		return ""
	}
	return id
}

// scope decides which records are the municipality's: Patients resident
// in it, and EpisodeOfCares and CarePlans about such a Patient. It
// remembers the Patients it read, for one request.
type scope struct {
	engine  connectors.Engine
	sandbox string
	m       fixtures.Municipality
	known   map[string]bool // patient id → resident
}

func (c *Connector) scopeOf(sandbox string, m fixtures.Municipality) *scope {
	return &scope{engine: c.engine, sandbox: sandbox, m: m, known: map[string]bool{}}
}

// holds reports whether the resource body of type typ is the
// municipality's; a Patient that cannot be read makes its records not so.
func (s *scope) holds(ctx context.Context, typ string, body []byte) bool {
	if typ == "Patient" {
		return Resident(body, s.m)
	}
	id := patientOf(typ, body)
	if id == "" {
		return false
	}
	if in, ok := s.known[id]; ok {
		return in
	}
	in := false
	if p, err := s.engine.Read(ctx, sandboxKey(s.sandbox), "Patient", id); err == nil {
		in = Resident(p.Body, s.m)
	}
	s.known[id] = in
	return in
}

// Paging of a municipality's search.
const (
	defaultCount = 20
	maxCount     = 200
	// maxStorePages bounds the store's pages one page of the hub reads
	// to fill itself with the municipality's records.
	maxStorePages = 20
)

// search is a search of typ narrowed to the municipality's records. It
// reads the store's pages, asking each for as many as the page still
// lacks, until it holds _count or the store has no more, so that a page
// is never longer than _count and its next link starts where the store
// stopped. The total is given only when every match was seen; the
// store's own would count other municipalities' records.
func (s *scope) search(ctx context.Context, typ string, params url.Values) (*fhirstore.SearchPage, error) {
	want := defaultCount
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, outcome.New(outcome.Incorrect, outcome.Value, "_count must be a number of 0 or more, not %q", clip(v)).At("_count")
		}
		want = min(n, maxCount)
	}
	out := &fhirstore.SearchPage{Total: -1}
	if want == 0 {
		return out, nil
	}
	q := url.Values{}
	for k, vs := range params {
		q[k] = vs
	}
	for i := 0; i < maxStorePages; i++ {
		q.Set("_count", strconv.Itoa(want-len(out.Matches)))
		page, err := s.engine.Search(ctx, sandboxKey(s.sandbox), typ, q)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out.Prev = page.Prev
		}
		for _, m := range page.Matches {
			if s.holds(ctx, typ, m.Body) {
				out.Matches = append(out.Matches, m)
			}
		}
		out.Next = page.Next
		if page.Next == "" || len(out.Matches) >= want {
			break
		}
		q.Set("_cursor", page.Next)
	}
	if out.Next == "" && out.Prev == "" {
		out.Total = len(out.Matches)
	}
	return out, nil
}

// BasisIssues are the rules of the Norwegian basis profile of Patient
// (spec.NoBasisPatient) that the Patient body with id breaks, as warnings
// naming the element, each diagnostic starting with Patient/id: what the
// hub serves as the municipality's record is judged by it, and reported,
// not withheld. VKP's own Patient profile (spec.Patient) is not used: its
// Address closes out the basis profile's municipality number, by which the
// hub tells a municipality's residents.
func BasisIssues(id string, body []byte) []outcome.Issue {
	defs, err := spec.Definitions()
	if err != nil {
		return nil
	}
	var out []outcome.Issue
	for _, is := range defs.Validate(body, profile.Options{Profiles: []string{spec.NoBasisPatient}}) {
		if is.Severity != outcome.ErrorLevel && is.Severity != outcome.Fatal {
			continue
		}
		i := is.Issue
		i.Severity = outcome.Warning
		i.Diagnostics = "Patient/" + id + " does not conform to no-basis-Patient: " + i.Diagnostics
		out = append(out, i)
	}
	return out
}
