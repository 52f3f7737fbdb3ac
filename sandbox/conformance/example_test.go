package conformance_test

import (
	"fmt"
	"os"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// A run of the patient-facing profile over two recorded exchanges: an
// authorization request without PKCE, and a search that asked for FHIR
// JSON.
func ExampleRegistry_Evaluate() {
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	ev := &conformance.Evidence{
		Sandbox: "acme", ClientID: "app-1", FHIRBase: "https://sandbox.example/sandboxes/acme/fhir",
		Entries: []requestlog.Entry{
			{ID: 1, Time: at, ClientID: "app-1", Method: "GET", Path: "/auth/authorize", Status: 302, RequestID: "r1",
				OAuth: &requestlog.OAuth{Endpoint: "authorize", StateLen: 36, StateBits: 155, RedirectExact: true, AudMatches: true}},
			{ID: 2, Time: at.Add(time.Minute), ClientID: "app-1", Method: "GET", Path: "/sandboxes/acme/fhir/Observation",
				Query: "patient=1", Status: 200, RequestID: "r2", Accept: "application/fhir+json"},
		},
	}
	run, err := conformance.Default().Evaluate(conformance.ProfilePatientApp, ev, at.Add(time.Hour))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, o := range run.Outcomes[:3] {
		fmt.Println(o.Check.ID, o.Result.Status, o.Result.Evidence)
	}
	fmt.Println("passed:", run.Passed())
	// Output:
	// smart.pkce-s256 fail [r1]
	// smart.state-entropy pass [r1]
	// smart.aud-fhir-base pass [r1]
	// passed: false
}
