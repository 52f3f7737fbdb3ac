package conformance

import (
	"time"

	"hpsandbox/sandbox/requestlog"
)

// Fixtures: one client of one sandbox, and builders of its exchanges.
const (
	fxClient  = "app-1"
	fxSandbox = "acme"
	fxBase    = "https://sandbox.example/sandboxes/acme/fhir"
	fxPath    = "/sandboxes/acme/fhir"
)

var fxStart = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// entry is an exchange: what the builders below make, and a time offset.
type entry = requestlog.Entry

// goodAuthorize is an authorization request that does everything right.
func goodAuthorize() requestlog.OAuth {
	return requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", PKCEMethod: "S256", Challenge: true,
		StateLen: 36, StateBits: 155, RedirectURI: "https://app.example/cb", RedirectExact: true,
		Scope: "launch/patient patient/Observation.rs", Aud: fxBase, AudMatches: true}
}

// goodAssertion is a backend service's token request that does
// everything right.
func goodAssertion() requestlog.OAuth {
	return requestlog.OAuth{Endpoint: "token", GrantType: "client_credentials", ClientAuth: "private_key_jwt",
		AssertionAlg: "ES384", AssertionLifetime: 240, AssertionIssSub: true, AssertionJTI: true}
}

// oauth is a request to the authorization server with facts f, edited.
func oauth(f requestlog.OAuth, edit func(*requestlog.OAuth)) entry {
	if edit != nil {
		edit(&f)
	}
	path := "/auth/" + f.Endpoint
	status := 200
	if f.Error != "" {
		status = 400
	}
	method := "POST"
	if f.Endpoint == "authorize" {
		method = "GET"
	}
	return entry{ClientID: fxClient, Method: method, Path: path, Status: status, OAuth: &f}
}

// granted is a successful token request granting scopes.
func granted(scopes string) entry {
	f := requestlog.OAuth{Endpoint: "token", GrantType: "authorization_code", ClientAuth: "none", Verifier: true}
	return entry{ClientID: fxClient, Method: "POST", Path: "/auth/token", Status: 200, Scopes: scopes, OAuth: &f}
}

// fhir is the client's FHIR request below the base, asking for FHIR JSON.
func fhir(method, rest string, status int) entry {
	path, query, _ := cutQuery(rest)
	return entry{ClientID: fxClient, Method: method, Path: fxPath + path, Query: query, Status: status,
		Accept: "application/fhir+json"}
}

// anon is an anonymous FHIR request (discovery).
func anon(method, rest string, status int) entry {
	e := fhir(method, rest, status)
	e.ClientID = ""
	return e
}

func cutQuery(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '?' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// with edits an entry.
func with(e entry, edit func(*entry)) entry {
	edit(&e)
	return e
}

// evidence numbers the entries and spaces them a second apart, unless an
// entry's Time is set (as an offset from fxStart in its nanoseconds).
func evidence(entries ...entry) *Evidence {
	ev := &Evidence{Sandbox: fxSandbox, ClientID: fxClient, FHIRBase: fxBase, Since: fxStart}
	t := fxStart
	for i, e := range entries {
		e.ID = int64(i + 1)
		e.Sandbox = fxSandbox
		if e.RequestID == "" {
			e.RequestID = "req-" + itoa(i+1)
		}
		if e.Time.IsZero() {
			t = t.Add(time.Second)
		} else {
			t = t.Add(time.Duration(e.Time.UnixNano()))
		}
		e.Time = t
		ev.Entries = append(ev.Entries, e)
	}
	ev.Until = t.Add(time.Second)
	return ev
}

// after sets an entry's gap from the one before it.
func after(d time.Duration, e entry) entry {
	e.Time = time.Unix(0, int64(d))
	return e
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
