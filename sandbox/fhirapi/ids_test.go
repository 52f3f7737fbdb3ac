package fhirapi_test

import (
	"context"
	"net/http"
	"testing"

	"hpsandbox/fhirstore"
)

// Every way a client can name the id of a new resource refuses one that no
// client could read back: "." and ".." are dot segments that URL
// resolution removes, and an encoded slash splits the id in two.
func TestWrites_RefuseIDsNoClientCanReadBack(t *testing.T) {
	patient := func(id string) string { return `{"resourceType":"Patient","id":` + jsonString(id) + `}` }
	tx := func(url string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + patient("..") +
			`,"request":{"method":"PUT","url":` + jsonString(url) + `}}]}`
	}
	tests := []struct {
		name string
		c    call
		want int
	}{
		{"update of id ..", call{method: "PUT", path: "/fhir/Patient/..", body: patient("..")}, 400},
		{"update of id .", call{method: "PUT", path: "/fhir/Patient/.", body: patient(".")}, 400},
		{"update of id ...", call{method: "PUT", path: "/fhir/Patient/...", body: patient("...")}, 400},
		{"update of percent-encoded dots", call{method: "PUT", path: "/fhir/Patient/%2E%2E", body: patient("..")}, 400},
		{"update of percent-encoded slash", call{method: "PUT", path: "/fhir/Patient/a%2Fb", body: patient("a")}, 405},
		{"transaction PUT of id ..", call{method: "POST", path: "/fhir", body: tx("Patient/..")}, 400},
		{"transaction PUT of percent-encoded dots", call{method: "POST", path: "/fhir", body: tx("Patient/%2E%2E")}, 400},
		{"conditional update creating under body id ..", call{method: "PUT", path: "/fhir/Patient?identifier=none", body: patient("..")}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, store := newEngine(t)
			mustDo(t, e, tt.c, tt.want)
			page, err := store.Search(context.Background(), fhirstore.DefaultSandbox, fhirstore.SearchQuery{Type: "Patient", Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Matches {
				t.Errorf("Patient/%s was stored", p.ID)
			}
		})
	}
}

func TestWrites_AcceptIDsWithDotsAmongOtherCharacters(t *testing.T) {
	e, _ := newEngine(t)
	for _, id := range []string{"a.b", ".a", "a..", "1.2.578", "-"} {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/" + id, body: `{"resourceType":"Patient","id":` + jsonString(id) + `}`}, http.StatusCreated)
		mustDo(t, e, call{method: "GET", path: "/fhir/Patient/" + id}, http.StatusOK)
	}
}
