package helseid

import (
	"net/http/httptest"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/smart"
)

func caller(dpop bool, jkt string, scopes ...string) connectors.Caller {
	return connectors.Caller{Sandbox: "s", Token: true, ClientID: "c", DPoP: dpop,
		Grant: &smart.Grant{ClientID: "c", Scope: scopes, DPoPKey: jkt, Claims: map[string]string{"vkp-id": "A_B_C"}}}
}

func TestRequire_ScopesAndDPoP(t *testing.T) {
	for _, tt := range []struct {
		name   string
		c      connectors.Caller
		check  func(connectors.Caller) *Refusal
		status int
	}{
		{"OpenSandbox_NoToken", connectors.Caller{Sandbox: "s"}, func(c connectors.Caller) *Refusal { return Require(c, JFTScope) }, 0},
		{"JFT_Granted", caller(true, "k", JFTScope), func(c connectors.Caller) *Refusal { return Require(c, JFTScope) }, 0},
		{"JFT_MissingScope", caller(true, "k", "system/*.rs"), func(c connectors.Caller) *Refusal { return Require(c, JFTScope) }, 403},
		{"JFT_BearerToken", caller(false, "", JFTScope), func(c connectors.Caller) *Refusal { return Require(c, JFTScope) }, 401},
		{"JFT_BoundWithoutProof", caller(false, "k", JFTScope), func(c connectors.Caller) *Refusal { return Require(c, JFTScope) }, 401},
		{"VKP_Exact", caller(true, "k", "nhn:vkp/api/user/Observation.write"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Observation", Write) }, 0},
		{"VKP_Star", caller(true, "k", "nhn:vkp/api/user/Observation.*"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Observation", Read) }, 0},
		{"VKP_AnyResource", caller(true, "k", "nhn:vkp/api/user/*.read"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Patient", Read) }, 0},
		{"VKP_ReadIsNotWrite", caller(true, "k", "nhn:vkp/api/user/Observation.read"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Observation", Write) }, 403},
		{"VKP_OtherResource", caller(true, "k", "nhn:vkp/api/user/Patient.write"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Observation", Write) }, 403},
		{"VKP_PrefixIsNotAScope", caller(true, "k", "nhn:vkp/api/user/Observation.writes"), func(c connectors.Caller) *Refusal { return RequireVKP(c, "Observation", Write) }, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check(tt.c)
			if tt.status == 0 {
				if r != nil {
					t.Fatalf("refused: %v", r)
				}
				return
			}
			if r == nil {
				t.Fatalf("admitted; want %d", tt.status)
			}
			w := httptest.NewRecorder()
			r.Write(w)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), `"OperationOutcome"`) {
				t.Errorf("answered %d %s; want %d with an OperationOutcome", w.Code, w.Body, tt.status)
			}
			h := w.Header().Get("WWW-Authenticate")
			want := map[int]string{401: `error="invalid_token"`, 403: `error="insufficient_scope"`}[tt.status]
			if !strings.HasPrefix(h, "DPoP ") || !strings.Contains(h, want) {
				t.Errorf("WWW-Authenticate %q; want a DPoP challenge with %s", h, want)
			}
		})
	}
	if got := VKPID(caller(true, "k")); got != "A_B_C" {
		t.Errorf("VKPID = %q", got)
	}
}
