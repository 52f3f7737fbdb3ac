package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/example"
	"hpsandbox/connectors/mllp"
	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/requestlog"
)

const connectorObservation = `{"resourceType":"Observation","status":"final",` +
	`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/pat-a"},` +
	`"valueQuantity":{"value":70,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`

// TestConnectors_RoutesServedPerSandboxBehindTheFHIRAPIsAuth: a
// connector's routes are those of a sandbox, refused without a token where
// the FHIR API refuses, refused with another sandbox's token, and what
// they store is the sandbox's alone.
func TestConnectors_RoutesServedPerSandboxBehindTheFHIRAPIsAuth(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Connectors = example.ID })
	baseA, tokA := env.supplierSandbox(t, "acme-dev", "acme", nil)
	baseB, tokB := env.supplierSandbox(t, "bravo-dev", "bravo", nil)
	connA := env.srv.URL + "/sandboxes/acme-dev/connectors/example"
	observations := func(base, tok string) float64 {
		t.Helper()
		resp, body := env.fhirAt(t, base, http.MethodGet, "/Observation?_summary=count", tok, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("counting Observations: %d %v", resp.StatusCode, body)
		}
		n, _ := body["total"].(float64)
		return n
	}

	for _, tt := range []struct {
		name, token string
		want        int
		code        string
	}{
		{"NoToken_OnASecuredSandbox", "", http.StatusUnauthorized, "login"},
		{"AnotherSandboxsToken", tokB, http.StatusUnauthorized, "login"},
		{"ForgedToken", tokA + "x", http.StatusUnauthorized, "login"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.fhirAt(t, connA, http.MethodPost, "/Observation", tt.token, connectorObservation)
			if resp.StatusCode != tt.want || issueCode(body) != tt.code {
				t.Fatalf("status %d, issue %q (%v); want %d with an OperationOutcome %q", resp.StatusCode, issueCode(body), body, tt.want, tt.code)
			}
		})
	}
	if n := observations(baseA, tokA); n != 0 {
		t.Fatalf("refused requests stored %v Observations in acme-dev", n)
	}

	resp, body := env.fhirAt(t, connA, http.MethodPost, "/Observation", tokA, connectorObservation)
	if resp.StatusCode != http.StatusCreated || body["resourceType"] != "Observation" {
		t.Fatalf("with the sandbox's token: %d %v", resp.StatusCode, body)
	}
	id, _ := body["id"].(string)
	if resp, _ := env.fhirAt(t, baseA, http.MethodGet, "/Observation/"+id, tokA, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the stored Observation is not readable through the sandbox's FHIR API: %d", resp.StatusCode)
	}
	if resp, _ := env.fhirAt(t, baseB, http.MethodGet, "/Observation/"+id, tokB, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another sandbox reads the connector's Observation: %d", resp.StatusCode)
	}
	if n := observations(baseB, tokB); n != 0 {
		t.Errorf("bravo-dev has %v Observations, all written to acme-dev", n)
	}

	// Another sandbox's token cannot reach acme-dev's data through its own
	// connector path either: the path names the sandbox.
	connB := env.srv.URL + "/sandboxes/bravo-dev/connectors/example"
	if resp, _ := env.fhirAt(t, connB, http.MethodPost, "/Observation", tokA, connectorObservation); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("acme-dev's token on bravo-dev's connector: %d, want 401", resp.StatusCode)
	}
	if resp, body := env.fhirAt(t, env.srv.URL+"/sandboxes/no-such/connectors/example", http.MethodPost, "/Observation", tokA, connectorObservation); resp.StatusCode != http.StatusNotFound || issueCode(body) != "not-found" {
		t.Errorf("a sandbox that does not exist: %d %v, want 404", resp.StatusCode, body)
	}
	if resp, body := env.fhirAt(t, env.srv.URL+"/sandboxes/acme-dev/connectors/no-such", http.MethodPost, "/x", tokA, "{}"); resp.StatusCode != http.StatusNotFound || issueCode(body) != "not-found" {
		t.Errorf("a connector that does not exist: %d %v, want 404 with an OperationOutcome", resp.StatusCode, body)
	}

	// Evidence: every exchange once, the refused ones included, under the
	// connector.
	ctx := context.Background()
	if err := env.gw.recorder.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := env.gw.requests.Query(ctx, requestlog.Filter{Sandbox: "acme-dev", Connector: example.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, e := range page.Entries {
		got = append([]int{e.Status}, got...)
		if e.Channel != requestlog.ChannelHTTP || !strings.HasPrefix(e.Path, "/sandboxes/acme-dev/connectors/example/") {
			t.Errorf("entry %+v: want channel http and the request's path", e)
		}
	}
	if want := []int{401, 401, 401, 201}; !slices.Equal(got, want) {
		t.Errorf("acme-dev's connector entries have statuses %v, want %v: one per exchange", got, want)
	}
	if page.Entries[0].ClientID == "" {
		t.Errorf("the accepted exchange's entry names no client: %+v", page.Entries[0])
	}
	// The connector's checks judged the accepted message when it arrived,
	// and the log keeps their verdicts for the conformance runs.
	var verdicts []string
	for _, v := range page.Entries[0].Verdicts {
		verdicts = append(verdicts, fmt.Sprintf("%s=%v", v.Check, v.Pass))
	}
	if want := "example-observation-loinc=true example-observation-subject=true"; strings.Join(verdicts, " ") != want {
		t.Errorf("the accepted message's verdicts are %q, want %q", verdicts, want)
	}
}

// TestConnectors_DefaultSandbox_OpenAsTheFHIRAPI: /connectors serves the
// default sandbox, which (not secured) takes requests without a token as
// /fhir does.
func TestConnectors_DefaultSandbox_OpenAsTheFHIRAPI(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Connectors = example.ID })
	resp, body := env.fhirAt(t, env.srv.URL+"/connectors/example", http.MethodPost, "/Observation", "", connectorObservation)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/"+body["id"].(string), "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("not readable at /fhir: %d", resp.StatusCode)
	}
}

// TestConnectors_NotConfigured_NotServed: without --connectors no
// connector answers.
func TestConnectors_NotConfigured_NotServed(t *testing.T) {
	env := newGatewayEnv(t, false)
	resp, body := env.fhirAt(t, env.srv.URL+"/connectors/example", http.MethodPost, "/Observation", "", connectorObservation)
	if resp.StatusCode != http.StatusNotFound || issueCode(body) != "not-found" {
		t.Fatalf("%d %v, want 404 with an OperationOutcome", resp.StatusCode, body)
	}
}

// TestConnectors_Listener_WritesToItsConfiguredSandbox: --connector-listen
// binds the connector's listener, whose messages land in the sandbox
// configured for it and in its request log.
func TestConnectors_Listener_WritesToItsConfiguredSandbox(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) {
		c.Connectors, c.ConnectorListen = example.ID, example.ID+"="+addr+"@"+fhirstore.DefaultSandbox
	})
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := mllp.WriteFrame(conn, []byte(connectorObservation)); err != nil {
		t.Fatal(err)
	}
	ans, err := mllp.NewReader(conn, 0).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(ans, &stored); err != nil || stored["resourceType"] != "Observation" {
		t.Fatalf("answer %s: %v", ans, err)
	}
	if resp, _ := env.fhir(t, http.MethodGet, "/Observation/"+stored["id"].(string), "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the Observation is not in the default sandbox: %d", resp.StatusCode)
	}
	ctx := context.Background()
	var entries []requestlog.Entry
	for deadline := time.Now().Add(5 * time.Second); len(entries) == 0 && time.Now().Before(deadline); {
		_ = env.gw.recorder.Flush(ctx)
		page, err := env.gw.requests.Query(ctx, requestlog.Filter{Sandbox: fhirstore.DefaultSandbox, Connector: example.ID})
		if err != nil {
			t.Fatal(err)
		}
		entries = page.Entries
	}
	if len(entries) != 1 || entries[0].Channel != requestlog.ChannelMLLP || entries[0].Status != http.StatusCreated {
		t.Fatalf("entries %+v, want the one message over mllp", entries)
	}
}

func TestConfig_Connectors_Validated(t *testing.T) {
	for _, tt := range []struct {
		connectors, listen, wantErr string
	}{
		{"", "", ""},
		{"example", "", ""},
		{" example ,", "example=127.0.0.1:0@default", ""},
		{"nope", "", "there is no connector"},
		{"", "example=127.0.0.1:0@default", "add it to --connectors"},
		{"example", "example=127.0.0.1:0", "want id=host:port@sandbox"},
		{"example", "Example=:1@default", "want id=host:port@sandbox"},
	} {
		c := Defaults()
		c.Connectors, c.ConnectorListen = tt.connectors, tt.listen
		err := c.Validate()
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Connectors %q, ConnectorListen %q: %v, want an error saying %q", tt.connectors, tt.listen, err, tt.wantErr)
		}
	}
}
