package interaction_test

import (
	"errors"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

const idSystem = "urn:oid:2.16.578.1.12.4.1.4.1"

func withIdentifier(id, value string) string {
	head := `{"resourceType":"Patient",`
	if id != "" {
		head += `"id":"` + id + `",`
	}
	return head + `"identifier":[{"system":"` + idSystem + `","value":"` + value + `"}]}`
}

// conditionalSeed: a and b share identifier 111, c has 222.
func conditionalSeed(f *fixture) {
	for id, v := range map[string]string{"a": "111", "b": "111", "c": "222"} {
		f.put(withIdentifier(id, v))
	}
}

func TestConditionalCreate_IfNoneExist(t *testing.T) {
	tests := []struct {
		name, criteria string
		cat            outcome.Category // "": written or found
		created        bool
		patients       int
	}{
		{"no match creates", "identifier=" + idSystem + "|333", "", true, 4},
		{"one match returns it", "identifier=" + idSystem + "|222", "", false, 3},
		{"several matches refused", "identifier=" + idSystem + "|111", outcome.PreconditionFailed, false, 3},
		{"unknown parameter refused", "nickname=x", outcome.Incorrect, false, 3},
		{"malformed value refused", "birthdate=soon", outcome.Incorrect, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			conditionalSeed(f)
			res, err := f.write(interaction.Write{Kind: interaction.Create, Type: "Patient", Body: []byte(withIdentifier("", "333")), IfNoneExist: tt.criteria})
			if category(err) != tt.cat {
				t.Fatalf("got %v, want %q", err, tt.cat)
			}
			if err == nil && (res.Created != tt.created || res.Existing == tt.created) {
				t.Errorf("created %v, existing %v", res.Created, res.Existing)
			}
			if err == nil && !tt.created && res.Resource.ID != "c" {
				t.Errorf("one match should answer with it: %s", res.Resource.ID)
			}
			if n := f.count("Patient", ""); n != tt.patients {
				t.Errorf("%d patients, want %d", n, tt.patients)
			}
		})
	}
}

func TestConditionalUpdate_ByCriteria(t *testing.T) {
	tests := []struct {
		name, query, body string
		cat               outcome.Category
		check             func(t *testing.T, f *fixture, res *interaction.Result)
	}{
		{"one match updates it", "identifier=" + idSystem + "|222", `{"resourceType":"Patient","gender":"female","identifier":[{"system":"` + idSystem + `","value":"222"}]}`, "",
			func(t *testing.T, f *fixture, res *interaction.Result) {
				if v, err := f.read("Patient", "c"); err != nil || v.Version != 2 || !strings.Contains(string(v.Body), `"gender":"female"`) || res.Created {
					t.Errorf("c not updated: %v %+v", err, v)
				}
			}},
		{"no match creates", "identifier=" + idSystem + "|999", withIdentifier("", "999"), "",
			func(t *testing.T, f *fixture, res *interaction.Result) {
				if n := f.count("Patient", "identifier="+idSystem+"|999"); n != 1 || !res.Created {
					t.Errorf("created %d", n)
				}
			}},
		{"no match creates under the body's id", "identifier=" + idSystem + "|999", withIdentifier("z", "999"), "",
			func(t *testing.T, f *fixture, res *interaction.Result) {
				if _, err := f.read("Patient", "z"); err != nil || !res.Created {
					t.Errorf("Patient/z: %v", err)
				}
			}},
		{"several matches refused", "identifier=" + idSystem + "|111", withIdentifier("", "111"), outcome.PreconditionFailed, nil},
		{"body id disagrees with the match", "identifier=" + idSystem + "|222", withIdentifier("x", "222"), outcome.Incorrect, nil},
		{"no criteria", "", withIdentifier("", "1"), outcome.Incorrect, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			conditionalSeed(f)
			res, err := f.write(interaction.Write{Kind: interaction.ConditionalUpdate, Type: "Patient", Criteria: tt.query, Body: []byte(tt.body)})
			if category(err) != tt.cat {
				t.Fatalf("got %v, want %q", err, tt.cat)
			}
			if tt.check != nil {
				tt.check(t, f, res)
			}
			if tt.cat != "" && f.versions() != 3 {
				t.Error("a refused conditional update wrote")
			}
		})
	}
}

func TestConditionalDelete_SingleByDefaultMultipleWhenConfigured(t *testing.T) {
	f := newFixture(t)
	conditionalSeed(f)
	del := func(f *fixture, value string) (*interaction.Result, error) {
		return f.write(interaction.Write{Kind: interaction.ConditionalDelete, Type: "Patient", Criteria: "identifier=" + idSystem + "|" + value})
	}
	if _, err := del(f, "111"); category(err) != outcome.PreconditionFailed {
		t.Errorf("two matches: %v", err)
	}
	if res, err := del(f, "222"); err != nil || res.Deleted != 1 {
		t.Errorf("one match: %v %+v", err, res)
	}
	var gone *fhirstore.GoneError
	if _, err := f.read("Patient", "c"); !errors.As(err, &gone) {
		t.Errorf("Patient/c: %v", err)
	}
	if res, err := del(f, "999"); err != nil || res.Deleted != 0 || res.Resource != nil {
		t.Errorf("no match: %v %+v", err, res)
	}
	if n := f.count("Patient", ""); n != 2 {
		t.Errorf("%d patients left, want 2", n)
	}

	multi := newFixtureWith(t, interaction.Config{ConditionalDeleteMax: 5})
	conditionalSeed(multi)
	if res, err := del(multi, "111"); err != nil || res.Deleted != 2 {
		t.Errorf("two matches, five allowed: %v %+v", err, res)
	}
	if n := multi.count("Patient", ""); n != 1 {
		t.Errorf("%d patients left, want 1", n)
	}
}

func TestTransaction_ConditionalEntriesAndReferences(t *testing.T) {
	f := newFixture(t)
	conditionalSeed(f) // a, b: 111; c: 222
	b, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000c1","resource":`+withIdentifier("", "222")+`,
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=`+idSystem+`|222"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000c1"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"y"},"subject":{"reference":"Patient?identifier=`+idSystem+`|222"}},
	  "request":{"method":"POST","url":"Observation"}},
	 {"resource":{"resourceType":"Patient","gender":"male","identifier":[{"system":"`+idSystem+`","value":"444"}]},
	  "request":{"method":"PUT","url":"Patient?identifier=`+idSystem+`|444"}},
	 {"request":{"method":"DELETE","url":"Patient?_id=a"}},
	 {"fullUrl":"urn:uuid:00000000-0000-4000-8000-0000000000d1","resource":`+withIdentifier("", "555")+`,
	  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=`+idSystem+`|555"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"z"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-0000000000d1"}},
	  "request":{"method":"POST","url":"Observation"}}
	]}`, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"200 OK", "201 Created", "201 Created", "201 Created", "204 No Content"}
	for i, w := range want {
		if b.Entry[i].Response.Status != w {
			t.Errorf("entry %d: %q, want %q", i, b.Entry[i].Response.Status, w)
		}
	}
	if !strings.HasPrefix(b.Entry[0].Response.Location, "Patient/c/") {
		t.Errorf("conditional create should answer with Patient/c: %q", b.Entry[0].Response.Location)
	}
	at := func(i int) *fhirstore.Resource {
		t.Helper()
		typ, id, _ := strings.Cut(strings.SplitN(b.Entry[i].Response.Location, "/_history", 2)[0], "/")
		v, err := f.read(typ, id)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		return v
	}
	for _, i := range []int{1, 2} {
		if s := reference(t, at(i).Body, "subject"); s != "Patient/c" {
			t.Errorf("entry %d reference %q not resolved to Patient/c", i, s)
		}
	}
	if n := f.count("Patient", "identifier="+idSystem+"|444"); n != 1 {
		t.Errorf("conditional PUT created %d", n)
	}
	var gone *fhirstore.GoneError
	if _, err := f.read("Patient", "a"); !errors.As(err, &gone) {
		t.Errorf("Patient/a: %v", err)
	}
	// A conditional create that found nothing creates, and references to
	// its fullUrl point at what it created.
	created := strings.SplitN(b.Entry[5].Response.Location, "/_history", 2)[0]
	if b.Entry[5].Response.Status != "201 Created" || !strings.HasPrefix(created, "Patient/") || len(created) <= len("Patient/") {
		t.Fatalf("entry 5: %+v", b.Entry[5].Response)
	}
	if s := reference(t, at(6).Body, "subject"); s != created {
		t.Errorf("reference to the conditional create's fullUrl: %s, want %s", s, created)
	}
}

func TestTransaction_AmbiguousOrMissingConditionalReferenceFailsWhole(t *testing.T) {
	for name, criteria := range map[string]string{"two matches": "111", "no match": "999"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			conditionalSeed(f)
			_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[
			 {"resource":{"resourceType":"Organization","name":"x"},"request":{"method":"POST","url":"Organization"}},
			 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=`+idSystem+`|`+criteria+`"}},
			  "request":{"method":"POST","url":"Observation"}}]}`, false)
			if category(err) != outcome.PreconditionFailed || !strings.Contains(err.Error(), "Bundle.entry[1]") {
				t.Fatalf("got %v", err)
			}
			if f.count("Organization", "") != 0 || f.count("Observation", "") != 0 {
				t.Error("a failed transaction left resources behind")
			}
		})
	}
}
