package subscription

import (
	"strings"
	"testing"

	"hpsandbox/fhirstore"
)

// FuzzParse: any stored body is read or refused, never run with a header
// that could split a request, and never panics.
func FuzzParse(f *testing.F) {
	f.Add(`{"resourceType":"Subscription","status":"requested","criteria":"Observation?category=vital-signs","channel":{"type":"rest-hook","endpoint":"https://h.example.org/x","header":["Authorization: Bearer x"]}}`)
	f.Add(`{"criteria":"Observation?_include=x","channel":{"type":"websocket"}}`)
	f.Add(`{"criteria":"Patient?name:exact=a%0d%0ab","channel":{"type":"rest-hook","payload":"application/fhir+json","_payload":{"extension":[{"url":"` + ContentExtension + `","valueCode":"id-only"}]}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		s, err := parse("a", &fhirstore.Resource{Type: "Subscription", ID: "x", Version: 1, Body: []byte(body)})
		if s == nil || err != nil {
			return
		}
		for k, vs := range s.headers {
			for _, v := range vs {
				if strings.ContainsAny(k+v, "\r\n\x00") || reservedHeaders[k] {
					t.Fatalf("header %q: %q accepted", k, v)
				}
			}
		}
		if s.channel != RestHook && s.channel != Websocket {
			t.Fatalf("channel %q accepted", s.channel)
		}
	})
}

// FuzzEndpointPolicy: an endpoint the policy accepts is loopback or https
// on a listed host.
func FuzzEndpointPolicy(f *testing.F) {
	for _, s := range []string{"https://hooks.example.org/x", "http://127.0.0.1:80/", "https://hooks.example.org@evil.net/", "https://[::1]/", "https://hooks.example.org.evil.net"} {
		f.Add(s)
	}
	p := EndpointPolicy{AllowHosts: []string{"hooks.example.org"}, AllowLoopback: true}
	f.Fuzz(func(t *testing.T, raw string) {
		if p.Check(raw) != nil {
			return
		}
		low := strings.ToLower(raw)
		if !strings.HasPrefix(low, "https://hooks.example.org") && !strings.Contains(low, "127.") &&
			!strings.Contains(low, "::1") && !strings.Contains(low, "localhost") && !strings.Contains(low, "[") {
			t.Fatalf("%q accepted", raw)
		}
	})
}
