package fhirapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// A read answers over HTTP with its version's ETag and Last-Modified, the
// FHIR JSON Content-Type and a Content-Length that frames the body (also
// when _pretty makes it longer); HEAD answers the headers without a body,
// and a conditional read of the current version 304 without one.
func TestRead_OverHTTP_HeadersFrameTheBody(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	srv := httptest.NewServer(e)
	defer srv.Close()
	get := func(method, path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	for _, path := range []string{"/fhir/Patient/p1", "/fhir/Patient/p1?_pretty=true", "/fhir/Patient/p1/_history/1"} {
		resp, body := get(http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"p1"`) {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if resp.Header.Get("ETag") != `W/"1"` || resp.Header.Get("Content-Type") != "application/fhir+json; charset=utf-8" {
			t.Errorf("GET %s: ETag %q Content-Type %q", path, resp.Header.Get("ETag"), resp.Header.Get("Content-Type"))
		}
		if _, err := http.ParseTime(resp.Header.Get("Last-Modified")); err != nil {
			t.Errorf("GET %s: Last-Modified %q: %v", path, resp.Header.Get("Last-Modified"), err)
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("GET %s: Content-Length %q, transfer encoding %v, body of %d bytes", path, cl, resp.TransferEncoding, len(body))
		}
	}
	resp, body := get(http.MethodHead, "/fhir/Patient/p1", nil)
	if resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("ETag") != `W/"1"` {
		t.Errorf("HEAD: %d ETag %q body %q", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
	resp, body = get(http.MethodGet, "/fhir/Patient/p1", map[string]string{"If-None-Match": `W/"1"`})
	if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != `W/"1"` {
		t.Errorf("conditional read: %d ETag %q body %q", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
}
