package requestlog_test

import (
	"net/url"
	"strings"
	"testing"

	"hpsandbox/sandbox/requestlog"
)

func TestRedactQuery(t *testing.T) {
	tests := []struct {
		name, path, query, want string
	}{
		{"Empty", "/fhir/Patient", "", ""},
		{"NothingSecret_Unchanged", "/fhir/Patient", "name=Nordmann&_count=10", "name=Nordmann&_count=10"},
		{"AccessToken", "/fhir/Patient/1", "_format=json&access_token=eyJhbGci.x.y", "_format=json&access_token=REDACTED"},
		{"EveryCredentialName", "/auth/token",
			"refresh_token=r&id_token=i&token=t&subject_token=s&actor_token=a&client_secret=c&client_assertion=j&assertion=b&code_verifier=v&password=p&api_key=k&apikey=k2",
			"refresh_token=REDACTED&id_token=REDACTED&token=REDACTED&subject_token=REDACTED&actor_token=REDACTED&client_secret=REDACTED&client_assertion=REDACTED&assertion=REDACTED&code_verifier=REDACTED&password=REDACTED&api_key=REDACTED&apikey=REDACTED"},
		{"NameIgnoresCase", "/fhir/Patient", "Access_Token=x", "Access_Token=REDACTED"},
		{"EncodedName", "/fhir/Patient", "access%5Ftoken=x&client%5fsecret=y", "access%5Ftoken=REDACTED&client%5fsecret=REDACTED"},
		{"UndecodableName_Redacted", "/fhir/Patient", "access_token%zz=x&a=1", "access_token%zz=REDACTED&a=1"},
		{"RepeatedParameter", "/fhir/Patient", "access_token=a&access_token=b", "access_token=REDACTED&access_token=REDACTED"},
		{"EmptyValue_Unchanged", "/fhir/Patient", "access_token=&access_token", "access_token=&access_token"},
		{"KeepsOrderAndEmptyPairs", "/fhir/Patient", "a=1&&password=p&b=2&", "a=1&&password=REDACTED&b=2&"},
		{"State_OnAuthEndpoint_RedactedButPKCEChallengeKept", "/auth/authorize",
			"response_type=code&client_id=app&state=xyz&code_challenge=abc&code_challenge_method=S256&scope=openid",
			"response_type=code&client_id=app&state=REDACTED&code_challenge=abc&code_challenge_method=S256&scope=openid"},
		{"Code_OnAuthEndpoint_Redacted", "/auth/token", "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA", "grant_type=authorization_code&code=REDACTED"},
		{"Code_OnUnknownPath_Redacted", "/callback", "code=abc", "code=REDACTED"},
		{"Code_OnSandboxAuthEndpoint_Redacted", "/sandboxes/Acme/auth/token", "code=abc", "code=REDACTED"},
		{"Code_OnTypeSearch_Kept", "/fhir/Observation", "code=http://loinc.org|8867-4", "code=http://loinc.org|8867-4"},
		{"Code_OnCompartmentSearch_Kept", "/fhir/Patient/1/Condition", "code=123", "code=123"},
		{"Code_OnTypeOperation_Kept", "/fhir/Observation/$lastn", "code=8867-4", "code=8867-4"},
		{"Code_OnInstanceOperation_Kept", "/fhir/ValueSet/vs1/$validate-code", "code=x&system=y", "code=x&system=y"},
		{"Code_OnSearchPost_Kept", "/fhir/Observation/_search/", "code=x", "code=x"},
		{"State_OnFHIRSearch_Kept", "/fhir/Location", "state=x", "state=x"},
		{"Code_ButTokenStill_Redacted", "/fhir/Observation", "code=x&access_token=t", "code=x&access_token=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestlog.RedactQuery(tt.path, tt.query); got != tt.want {
				t.Fatalf("RedactQuery(%q, %q)\n got %q\nwant %q", tt.path, tt.query, got, tt.want)
			}
		})
	}
}

func TestRedactQuery_NothingSecret_DoesNotAllocate(t *testing.T) {
	q := "name=Nordmann&birthdate=ge1970-01-01&_count=10&_format=json"
	if n := testing.AllocsPerRun(100, func() { requestlog.RedactQuery("/fhir/Patient", q) }); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

var secretNames = []string{"access_token", "refresh_token", "id_token", "token", "subject_token",
	"actor_token", "client_secret", "client_assertion", "assertion", "code_verifier", "password", "api_key", "apikey"}

func FuzzRedactQuery(f *testing.F) {
	f.Add("/fhir/Patient", "name=x&access_token=secret")
	f.Add("/auth/token", "code=abc&CODE_VERIFIER=v")
	f.Add("/fhir/Observation/$lastn", "code=1&token=%zz")
	f.Add("/", "&&=&a%2=b")
	f.Fuzz(func(t *testing.T, path, query string) {
		got := requestlog.RedactQuery(path, query)
		if again := requestlog.RedactQuery(path, got); again != got {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
		if strings.Count(got, "&") != strings.Count(query, "&") {
			t.Fatalf("parameters added or lost: %q from %q", got, query)
		}
		// Whatever a server would decode as a credential has no value left.
		for pair := range strings.SplitSeq(got, "&") {
			name, value, _ := strings.Cut(pair, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			for _, s := range secretNames {
				if lowerASCII(name) == s && value != "" && value != requestlog.Redacted {
					t.Fatalf("%s kept its value in %q", name, got)
				}
			}
		}
	})
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
