package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzGuard_PatientTokenSeesOnlyItsCompartment sends arbitrary requests
// with a read-only patient-level token for pat-a and checks that whatever
// the gateway answers with success holds only resources of pat-a's
// compartment. The token cannot write, so the seeded data is all there is.
func FuzzGuard_PatientTokenSeesOnlyItsCompartment(f *testing.F) {
	env := newGatewayEnv(f, true)
	tok, _ := env.standaloneLaunch(f, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	h := env.srv.Config.Handler
	allowed := map[string]bool{"Patient/pat-a": true, "Observation/obs-a": true, "Observation/obs-a-lab": true, "Encounter/enc-a": true}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}
	for _, seed := range []struct {
		m          uint8
		path, body string
	}{
		{0, "/Observation/obs-b", ""},
		{0, "/Observation?subject=Patient/pat-b", ""},
		{0, "/?_type=Observation,Patient", ""},
		{0, "/Patient/pat-b/Observation", ""},
		{0, "/Observation?_include=Observation:subject&_revinclude=Observation:subject", ""},
		{0, "/Patient?_has:Observation:subject:code=8867-4", ""},
		{0, "/Observation?subject:Patient.family=hansen&_include=*&_include:iterate=*", ""},
		{0, "/Patient?_revinclude=*&_revinclude:iterate=*&_sort=-birthdate", ""},
		{0, "/?_type=Patient,Observation&_sort=_id&_include=*", ""},
		{2, "/_search", "_type=Observation&subject.birthdate=ge1980&_revinclude=*"},
		{0, "/_history", ""},
		{0, "/Observation/obs-b/_history/1", ""},
		{0, "/Observation/_history?_count=2", ""},
		{0, "/Observation/obs-b/_history", ""},
		{2, "/", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/obs-b"}}]}`},
		{2, "/Observation/_search", "subject=Patient/pat-b"},
		{0, "/$export", ""},
		{0, "/metadata/_history", ""},
		{0, "/.well-known/_history", ""},
	} {
		f.Add(seed.m, seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, m uint8, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n#") {
			return
		}
		method := methods[int(m)%len(methods)]
		req, err := http.NewRequest(method, "http://gateway/fhir"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.RequestURI = ""
		if strings.HasSuffix(req.URL.Path, "/_search") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 || rec.Body.Len() == 0 {
			return
		}
		for _, ref := range returnedResources(rec.Body.Bytes()) {
			if !allowed[ref] {
				t.Fatalf("%s %s answered %d with %s, outside pat-a's compartment:\n%.600s", method, path, rec.Code, ref, rec.Body)
			}
		}
	})
}

// returnedResources lists Type/id of the resource in an answer, or of the
// resources in a Bundle's entries (OperationOutcomes aside).
func returnedResources(body []byte) []string {
	type head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	var doc struct {
		head
		Entry []struct {
			Resource *head `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	add := func(h head) {
		if h.ResourceType != "" && h.ResourceType != "OperationOutcome" && h.ResourceType != "Bundle" && h.ResourceType != "CapabilityStatement" {
			out = append(out, h.ResourceType+"/"+h.ID)
		}
	}
	add(doc.head)
	for _, e := range doc.Entry {
		if e.Resource != nil {
			add(*e.Resource)
		}
	}
	return out
}
