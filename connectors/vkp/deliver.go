package vkp

// Storing an accepted submission: the transaction Bundle that writes it
// (Transaction), and its delivery through the engine (Deliver) with the
// reads that come before it (samePerson, findPatient).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// Transaction is the submission as the transaction Bundle that stores it:
// the person as a conditional create (an unknown synthetic person is
// registered, a known one found by identifier), each resource's subject
// pointing at that Patient, and each resource with its own urn:uuid
// identifier as an update at the id that identifier makes (IDOf), so that
// a retried or duplicated submission updates what the first stored
// instead of storing it twice (and a later event of an alarm becomes its
// next version). An update by id needs no search, which a conditional
// update on the identifier would.
//
// When s.Patient names the person's Patient already, the transaction
// refers to it and holds no Patient entry: what a conditional create
// would find, it finds without searching inside the store's write.
func (s *Submission) Transaction(tag string) ([]byte, error) {
	// The Bundle and its entries are written as encoding/json writes the
	// maps they once were (keys sorted: entry, resourceType, type; fullUrl,
	// request, resource; method, url), so that only the resources and the
	// Patient go through AppendJSON.
	out := make([]byte, 0, 2048)
	out = append(out, `{"entry":`...)
	none := s.Patient != "" && len(s.Entries) == 0
	if none {
		out = append(out, "null"...) // a nil list, as the maps wrote it
	} else {
		out = append(out, '[')
	}
	patientURL := s.Patient
	if patientURL == "" {
		patientURL = "urn:uuid:" + newUUID()
		var err error
		if out, err = fhirjson.AppendJSON(out, s.patientEntry(patientURL, tag)); err != nil {
			return nil, err
		}
	}
	for i, e := range s.Entries {
		r := e.Resource
		delete(r, "id")
		subj, _ := r[subjectKey(e.Type)].(map[string]any)
		subj["reference"] = patientURL
		full := e.FullURL
		if !strings.HasPrefix(full, "urn:uuid:") {
			full = "urn:uuid:" + newUUID()
		}
		if i > 0 || s.Patient == "" {
			out = append(out, ',')
		}
		out = append(out, `{"fullUrl":`...)
		out, _ = fhirjson.AppendJSON(out, full)
		if own := ownIdentifier(r); own != "" {
			id := IDOf(tag, own)
			r["id"] = id
			out = append(out, `,"request":{"method":"PUT","url":`...)
			out, _ = fhirjson.AppendJSON(out, e.Type+"/"+id)
		} else {
			out = append(out, `,"request":{"method":"POST","url":`...)
			out, _ = fhirjson.AppendJSON(out, e.Type)
		}
		out = append(out, `},"resource":`...)
		var err error
		if out, err = fhirjson.AppendJSON(out, r); err != nil {
			return nil, err
		}
		out = append(out, '}')
	}
	if !none {
		out = append(out, ']')
	}
	return append(out, `,"resourceType":"Bundle","type":"transaction"}`...), nil
}

// patientEntry is the conditional create of the person's Patient, tagged
// as registered by connector tag.
func (s *Submission) patientEntry(fullURL, tag string) map[string]any {
	person := map[string]any{"system": s.PersonSystem, "value": s.Person}
	patient := map[string]any{
		"resourceType": "Patient",
		"meta":         map[string]any{"tag": []any{map[string]any{"system": TagSystem, "code": tag, "display": "registered by the " + tag + " connector"}}},
		"identifier":   []any{person},
	}
	if s.Display != "" {
		patient["name"] = []any{map[string]any{"text": s.Display}}
	}
	if m := s.Municipality; m.Code != "" {
		patient["address"] = []any{map[string]any{"use": "home", "district": m.Name,
			"extension": []any{map[string]any{"url": MunicipalityCodeURL,
				"valueCoding": map[string]any{"system": "urn:oid:2.16.578.1.12.4.1.1.3402", "code": m.Code, "display": m.Name}}}}}
	}
	return map[string]any{
		"fullUrl":  fullURL,
		"resource": patient,
		"request":  map[string]any{"method": "POST", "url": "Patient", "ifNoneExist": "identifier=" + url.QueryEscape(s.PersonSystem+"|"+s.Person)},
	}
}

// Deliver stores s in sandbox through engine as one transaction
// (Submission.Transaction), tagging a registered Patient as connector
// tag's; twice delivers it a second time, as a hub retrying its delivery
// does, and the record must hold it once. It returns the first
// transaction's response Bundle.
func Deliver(ctx context.Context, engine connectors.Engine, sandbox string, s *Submission, tag string, twice bool) ([]byte, error) {
	if err := s.samePerson(ctx, engine, sandbox, tag); err != nil {
		return nil, err
	}
	if err := s.findPatient(ctx, engine, sandbox); err != nil {
		return nil, err
	}
	tx, err := s.Transaction(tag)
	if err != nil {
		return nil, err
	}
	resp, err := s.store(ctx, engine, sandbox, tx)
	if err == nil && s.found != nil {
		resp, err = withPatientFirst(resp, s.found)
	}
	if err != nil || !twice {
		return resp, err
	}
	again, err := s.Transaction(tag)
	if err != nil {
		return nil, err
	}
	if _, err := s.store(ctx, engine, sandbox, again); err != nil {
		return nil, err
	}
	return resp, nil
}

// validatedEngine is an engine that takes a transaction whose resources
// the caller vouches are valid R4 (interaction.BundleRequest.Validated).
type validatedEngine interface {
	ValidatedTransaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error)
}

// store runs tx, s's transaction, through engine. Every resource of it
// passed fhirjson.Parse in Parse (s.r4), and what Transaction changes
// keeps it valid R4: the id it sets is IDOf's, a valid id; the subject's
// reference it sets is a Patient's, which every subject it sets may
// refer to; the Patient entry and the rest of the Bundle it writes from
// constants and from values the resources held. Only the entries'
// fullUrls come from the supplier unchecked, so a transaction whose
// fullUrls all have the form of a uri is vouched for, and the engine does
// not parse it with google/fhir a second time; any other is validated by
// the engine in full.
func (s *Submission) store(ctx context.Context, engine connectors.Engine, sandbox string, tx []byte) ([]byte, error) {
	if v, ok := engine.(validatedEngine); ok && s.r4 && s.uriFullURLs() {
		return v.ValidatedTransaction(ctx, sandboxKey(sandbox), tx)
	}
	return engine.Transaction(ctx, sandboxKey(sandbox), tx)
}

// uriFullURLs reports whether every entry's fullUrl that Transaction
// keeps has the form of an R4 uri (no whitespace: \S*).
func (s *Submission) uriFullURLs() bool {
	for _, e := range s.Entries {
		if strings.HasPrefix(e.FullURL, "urn:uuid:") && strings.IndexFunc(e.FullURL, unicode.IsSpace) >= 0 {
			return false
		}
	}
	return true
}

// findPatient sets s.Patient to the one Patient of sandbox with the
// person's identifier, searched for before the transaction, where reads
// run beside each other, rather than inside it, where writes run one by
// one. None or several leave it to the transaction's conditional create,
// which registers the person or refuses the ambiguity as before.
func (s *Submission) findPatient(ctx context.Context, engine connectors.Engine, sandbox string) error {
	page, err := engine.Search(ctx, sandboxKey(sandbox), "Patient",
		url.Values{"identifier": {s.PersonSystem + "|" + s.Person}, "_count": {"2"}})
	if err != nil {
		return err
	}
	if len(page.Matches) == 1 {
		s.Patient = "Patient/" + page.Matches[0].ID
		s.found = page.Matches[0]
	}
	return nil
}

// samePerson refuses a submission that would move a stored resource to
// another person: a resource already stored at the id its own identifier
// makes must name the same national identity number. A retry or a later
// event names the same person; another person means a reused identifier.
func (s *Submission) samePerson(ctx context.Context, engine connectors.Engine, sandbox, tag string) error {
	for i, e := range s.Entries {
		own := ownIdentifier(e.Resource)
		if own == "" {
			continue
		}
		stored, err := engine.Read(ctx, sandboxKey(sandbox), e.Type, IDOf(tag, own))
		if err != nil {
			if c := outcome.CategoryOf(err); c == outcome.Missing || c == outcome.Gone {
				continue
			}
			return err
		}
		var r map[string]json.RawMessage
		if json.Unmarshal(stored.Body, &r) != nil {
			continue
		}
		var subj struct {
			Identifier struct{ System, Value string } `json:"identifier"`
		}
		_ = json.Unmarshal(r[subjectKey(e.Type)], &subj)
		if subj.Identifier.Value != s.Person || subj.Identifier.System != s.PersonSystem {
			return outcome.New(outcome.Conflicting, outcome.Conflict,
				"%s with this identifier is already stored about another person; an identifier names one resource about one person, so send a new one",
				outcome.Article(e.Type)).At(fmt.Sprintf("Bundle.entry[%d].resource.identifier", i))
		}
	}
	return nil
}
