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
	}
	for _, tt := range tests {
		if got := c.hasRedirectURI(tt.uri); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.uri, got, tt.want)
		}
	}
}
