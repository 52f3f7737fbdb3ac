package vkp_test

import (
	"net/http"
	"strings"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/smart"
)

// token is a HelseID-style caller of the hub.
func token(vkpID string, dpop bool, scopes ...string) connectors.Caller {
	g := &smart.Grant{ClientID: "acme-alarm", Sandbox: sandbox, Scope: scopes, Claims: map[string]string{}}
	if vkpID != "" {
		g.Claims[vkp.ClaimVKPID] = vkpID
	}
	if dpop {
		g.DPoPKey = "thumbprint"
	}
	return connectors.Caller{Sandbox: sandbox, Token: true, ClientID: g.ClientID, Grant: g, DPoP: dpop}
}

var alarmScopes = []string{"nhn:vkp/api/user/DetectedIssue.write", "nhn:vkp/api/user/Encounter.write", "nhn:vkp/api/user/Composition.*"}

func TestAccess_HelseIDStyleTokens(t *testing.T) {
	bearer := token("Acme_Alarm_Steinkjer", false, alarmScopes...)
	bearer.Grant.DPoPKey = ""
	unproven := token("Acme_Alarm_Steinkjer", true, alarmScopes...)
	unproven.DPoP = false
	tests := []struct {
		name   string
		caller connectors.Caller
		status int
		says   string
	}{
		{"no token in an open sandbox", connectors.Caller{Sandbox: sandbox}, 200, ""},
		{"DPoP token with the scopes", token("Acme_Alarm_Steinkjer", true, alarmScopes...), 200, ""},
		{"municipality by number", token("Acme_Alarm_5006", true, alarmScopes...), 200, ""},
		{"bearer token", bearer, 403, "DPoP"},
		{"DPoP-bound but no proof", unproven, 403, "DPoP"},
		{"no vkp-id", token("", true, alarmScopes...), 403, "vkp-id"},
		{"vkp-id of two parts", token("Acme_Alarm", true, alarmScopes...), 403, "vkp-id"},
		{"vkp-id of another municipality", token("Acme_Alarm_Trondheim", true, alarmScopes...), 403, "Trondheim"},
		{"read scope only", token("Acme_Alarm_Steinkjer", true, "nhn:vkp/api/user/DetectedIssue.read", "nhn:vkp/api/user/Encounter.read", "nhn:vkp/api/user/Composition.read"), 403, "DetectedIssue.write"},
		{"one resource missing", token("Acme_Alarm_Steinkjer", true, alarmScopes[:2]...), 403, "Composition.write"},
		{"SMART scopes are not the hub's", token("Acme_Alarm_Steinkjer", true, "system/*.cruds"), 403, "nhn:vkp"},
		{"prefix lookalike", token("Acme_Alarm_Steinkjer", true, "nhn:vkp/api/user/DetectedIssue.writex", "xnhn:vkp/api/user/Encounter.write"), 403, "write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHub(t, vkp.Options{})
			h.caller = tt.caller
			status, body, _ := h.post("/Bundle", readFile(t, "alarm.json"))
			if status != tt.status || !strings.Contains(string(body), tt.says) {
				t.Fatalf("status %d, want %d saying %q: %s", status, tt.status, tt.says, body)
			}
			if tt.status != 200 && h.versions() != 0 {
				t.Fatal("a refused caller stored something")
			}
		})
	}
}

func TestAccess_ReadNeedsReadScope(t *testing.T) {
	h := newHub(t, vkp.Options{})
	h.caller = token("Acme_Alarm_Steinkjer", true, "nhn:vkp/api/user/Patient.write")
	if status, body, _ := h.do(http.MethodGet, h.url("/Patient"), nil); status != 403 {
		t.Fatalf("status %d, want 403: %s", status, body)
	}
	h.caller = token("Acme_Alarm_Steinkjer", true, "nhn:vkp/api/user/Patient.read")
	if status, body, _ := h.do(http.MethodGet, h.url("/Patient"), nil); status != 200 {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
}
