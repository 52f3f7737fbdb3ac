package smart

import "testing"

func TestRedirectURI_LoopbackWithoutPortAcceptsAnyPortButNothingElse(t *testing.T) {
	c := &Client{RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]/cb", "http://localhost/cb", "http://127.0.0.1:9/fixed"}}
	tests := []struct {
		uri  string
		want bool
	}{
		{"http://127.0.0.1/callback", true},
		{"http://127.0.0.1:51234/callback", true},
		{"http://[::1]:8000/cb", true},
		{"http://127.0.0.1:9/fixed", true},
		{"http://127.0.0.1:10/fixed", false},          // a registered port is exact
		{"http://localhost:8000/cb", false},           // names are not loopback IPs (RFC 8252 §8.3)
		{"https://127.0.0.1:8000/callback", false},    // scheme must match
		{"http://127.0.0.1:8000/callback/x", false},   // path must match
		{"http://127.0.0.1:8000/callback?x=1", false}, // query must match
		{"http://127.0.0.1:8000/callback#f", false},
		{"http://u@127.0.0.1:8000/callback", false},
		{"http://127.0.0.2:8000/callback", false},
		{"http://evil.example:8000/callback", false},
		// A port is a number from 1 to 65535 (RFC 3986 §3.2.3, RFC 6335).
		{"http://127.0.0.1:65535/callback", true},
		{"http://127.0.0.1:1/callback", true},
		{"http://127.0.0.1:0/callback", false},
		{"http://127.0.0.1:65536/callback", false},
		{"http://127.0.0.1:99999/callback", false},
		{"http://[::1]:99999/cb", false},
		{"http://127.0.0.1:08080/callback", false},
		{"http://127.0.0.1:/callback", false},
	}
	for _, tt := range tests {
		if got := c.hasRedirectURI(tt.uri); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func TestIsLoopbackURL_HTTPOnALoopbackIPWithAPortOf1To65535(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"http://127.0.0.1:8765/launch", true},
		{"http://127.0.0.1/launch", true},
		{"http://[::1]:9000/l", true},
		{"http://127.0.0.1:65535/l", true},
		{"http://127.0.0.1:0/l", false},
		{"http://127.0.0.1:65536/l", false},
		{"http://127.0.0.1:99999/l", false},
		{"http://127.0.0.1:008765/l", false},
		{"http://127.0.0.1:/l", false},
		{"https://127.0.0.1:8765/l", false},
		{"http://localhost:8765/l", false},
		{"http://u:p@127.0.0.1:8765/l", false},
		{"http://evil.example:8765/l", false},
		{"http://127.0.0.1:8765/l#f", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		if got := IsLoopbackURL(tt.raw); got != tt.want {
			t.Errorf("IsLoopbackURL(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
