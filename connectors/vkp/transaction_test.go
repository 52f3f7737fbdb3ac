package vkp

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"hpsandbox/fixtures"
)

// transactionMaps is Transaction as it was written before it appended its
// JSON directly: a tree of maps marshalled at once. fullURLs are the
// fullUrls the other made (random where it chose them), in entry order.
func (s *Submission) transactionMaps(tag string, fullURLs []string) ([]byte, error) {
	next := func() string { u := fullURLs[0]; fullURLs = fullURLs[1:]; return u }
	var entries []any
	patientURL := s.Patient
	if s.Patient == "" {
		patientURL = next()
		entries = append(entries, s.patientEntry(patientURL, tag))
	}
	for _, e := range s.Entries {
		r := e.Resource
		delete(r, "id")
		subj, _ := r[subjectKey(e.Type)].(map[string]any)
		subj["reference"] = patientURL
		full := next()
		req := map[string]any{"method": "POST", "url": e.Type}
		if own := ownIdentifier(r); own != "" {
			id := IDOf(tag, own)
			r["id"] = id
			req = map[string]any{"method": "PUT", "url": e.Type + "/" + id}
		}
		entries = append(entries, map[string]any{"fullUrl": full, "resource": r, "request": req})
	}
	return marshalValue(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

// submissionOf is a submission of the entries' resources (JSON), as Parse
// makes one, without judging them.
func submissionOf(t *testing.T, fullURL string, resources ...string) *Submission {
	t.Helper()
	s := &Submission{Person: "12883810110", PersonSystem: "urn:oid:2.16.578.1.12.4.1.4.1"}
	for _, r := range resources {
		m, _ := decodeStd([]byte(r)).(map[string]any)
		typ, _ := m["resourceType"].(string)
		s.Entries = append(s.Entries, Entry{Type: typ, FullURL: fullURL, Resource: m, Raw: []byte(r)})
	}
	return s
}

func TestTransaction_SameAsMarshalledMaps(t *testing.T) {
	_, alarm, err := splitAlarm(nil)
	if err != nil {
		t.Fatal(err)
	}
	own := `"identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:3F0C8A8E-1D2B-4C5E-9F60-7A8B9C0D1E0F"}`
	subject := `"subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"12883810110"},"display":"<Ola> & \u2028"}`
	cases := []struct {
		name    string
		fullURL string
		patient string
		display string
		m       fixtures.Municipality
		res     []string
	}{
		{"alarm, person known", "", "Patient/p1", "", fixtures.Municipality{}, []string{string(alarm[0]), string(alarm[1]), string(alarm[2])}},
		{"alarm, person registered", "", "", "Kari", fixtures.Municipality{Code: "0301", Name: "Oslo"}, []string{string(alarm[0]), string(alarm[1]), string(alarm[2])}},
		{"no own identifier", "urn:uuid:0b6f4c1e-3c1a-4d2b-8e7f-1a2b3c4d5e6f", "", "", fixtures.Municipality{}, []string{`{"resourceType":"Observation","id":"x",` + subject + `}`}},
		{"another identifier, fullUrl not a urn:uuid", "http://example.org/Observation/1", "Patient/p<2>", "", fixtures.Municipality{},
			[]string{`{"resourceType":"Observation",` + subject + `,"identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"}],"valueQuantity":{"value":1.50}}`}},
		{"own identifier", "urn:uuid:x y", "Patient/p1", "", fixtures.Municipality{}, []string{`{"resourceType":"Observation",` + subject + `,` + own + `}`}},
		{"no entries, person known", "", "Patient/p1", "", fixtures.Municipality{}, nil},
		{"no entries", "", "", "", fixtures.Municipality{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := submissionOf(t, c.fullURL, c.res...)
			s.Patient, s.Display, s.Municipality = c.patient, c.display, c.m
			got, err := s.Transaction("vkp")
			if err != nil {
				t.Fatal(err)
			}
			var tx struct {
				Entry []struct{ FullURL string } `json:"entry"`
			}
			if err := json.Unmarshal(got, &tx); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			var urls []string
			for _, e := range tx.Entry {
				urls = append(urls, e.FullURL)
			}
			old := submissionOf(t, c.fullURL, c.res...)
			old.Patient, old.Display, old.Municipality = c.patient, c.display, c.m
			want, err := old.transactionMaps("vkp", urls)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Transaction:\n%s\nwant\n%s", got, want)
			}
			// A second transaction of the same submission (a retry) is the
			// same but for the fullUrls chosen anew.
			again, err := s.Transaction("vkp")
			if err != nil {
				t.Fatal(err)
			}
			if c.patient != "" && (len(c.res) == 0 || strings.HasPrefix(c.fullURL, "urn:uuid:")) && !bytes.Equal(again, got) {
				t.Errorf("second Transaction:\n%s\nwant\n%s", again, got)
			}
		})
	}
}

func TestTransaction_InvalidNumberIsAnError(t *testing.T) {
	s := submissionOf(t, "", `{"resourceType":"Observation","subject":{}}`)
	s.Patient = "Patient/p1"
	s.Entries[0].Resource["valueInteger"] = json.Number("1x")
	if _, err := s.Transaction("vkp"); err == nil {
		t.Error("an invalid number was written")
	}
}

// BenchmarkTransaction: the alarm's transaction for a known person,
// appended directly and as the marshalled maps it was.
func BenchmarkTransaction(b *testing.B) {
	_, alarm, err := splitAlarm(b)
	if err != nil {
		b.Fatal(err)
	}
	var entries []Entry
	for _, r := range alarm {
		m, _ := decode(r).(map[string]any)
		typ, _ := m["resourceType"].(string)
		entries = append(entries, Entry{Type: typ, FullURL: "urn:uuid:0b6f4c1e-3c1a-4d2b-8e7f-1a2b3c4d5e6f", Resource: m, Raw: r})
	}
	s := &Submission{Person: "12883810110", PersonSystem: "urn:oid:2.16.578.1.12.4.1.4.1", Patient: "Patient/p1", Entries: entries}
	urls := []string{entries[0].FullURL, entries[1].FullURL, entries[2].FullURL}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Transaction("vkp"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("maps", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.transactionMaps("vkp", slices.Clone(urls)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
