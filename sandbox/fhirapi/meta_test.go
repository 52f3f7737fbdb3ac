package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func metaParams(meta string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"meta","valueMeta":` + meta + `}]}`
}

// What the meta operations mean is the engine's
// (interaction.TestMeta_*); here, what HTTP adds: the routes, 200 with the
// Parameters, and an ETag that does not move.
func TestMeta_AddAndDeleteInPlaceWithoutNewVersion(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusOK)
	add := metaParams(`{"tag":[{"system":"urn:sandbox","code":"test-a"},{"system":"urn:sandbox","code":"test-b"}]}`)
	rec := mustDo(t, e, call{method: "POST", path: "/fhir/Patient/p1/$meta-add", body: add}, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"name":"return"`) || !strings.Contains(rec.Body.String(), "test-b") {
		t.Errorf("$meta-add result %s", rec.Body)
	}
	rec = mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK)
	if rec.Header().Get("ETag") != `W/"2"` || strings.Count(rec.Body.String(), "test-a") != 1 {
		t.Errorf("after $meta-add: ETag %s body %s", rec.Header().Get("ETag"), rec.Body)
	}
	mustDo(t, e, call{method: "POST", path: "/fhir/Patient/p1/$meta-delete", body: metaParams(`{"tag":[{"system":"urn:sandbox","code":"test-a"}]}`)}, http.StatusOK)
	for _, path := range []string{"/fhir/Patient/p1/$meta", "/fhir/Patient/p1/_history/2/$meta"} {
		rec = mustDo(t, e, call{method: "GET", path: path}, http.StatusOK)
		if strings.Contains(rec.Body.String(), "test-a") || !strings.Contains(rec.Body.String(), "test-b") {
			t.Errorf("%s after delete: %s", path, rec.Body)
		}
	}
	mustDo(t, e, call{method: "POST", path: "/fhir/Patient/p1/_history/1/$meta-add", body: add}, http.StatusOK)
	if n := count(t, e, "/fhir/Patient/p1/_history"); n != 2 {
		t.Errorf("meta operations made versions: %d", n)
	}
}

func TestMeta_Refusals(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	for name, tc := range map[string]struct {
		c    call
		want int
	}{
		"not Parameters":   {call{method: "POST", path: "/fhir/Patient/p1/$meta-add", body: patientP1}, 400},
		"invalid coding":   {call{method: "POST", path: "/fhir/Patient/p1/$meta-add", body: metaParams(`{"tag":[{"system":"urn:x","code":"a b","userSelected":"yes"}]}`)}, 400},
		"unknown resource": {call{method: "POST", path: "/fhir/Patient/nope/$meta-add", body: metaParams(`{"tag":[{"code":"a"}]}`)}, 404},
		"unknown version":  {call{method: "GET", path: "/fhir/Patient/p1/_history/9/$meta"}, 404},
		"GET on $meta-add": {call{method: "GET", path: "/fhir/Patient/p1/$meta-add"}, 405},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := do(t, e, tc.c); rec.Code != tc.want {
				t.Errorf("%d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK)
	if strings.Contains(rec.Body.String(), `"tag"`) {
		t.Errorf("a refused meta operation wrote: %s", rec.Body)
	}
}
