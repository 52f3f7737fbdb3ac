package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/fhirstore"
	"hpsandbox/smart"
)

// The demo clients every sandbox server registers, so that a supplier can
// try SMART before registering an app of its own.
const (
	// DemoClientID is a public app (PKCE, no secret) that may use any
	// loopback port with the path /callback.
	DemoClientID = "sandbox-demo"
	// DemoBackendClientID is a backend service (client_credentials with a
	// signed assertion) whose keys come from Config.DemoBackendJWKS.
	DemoBackendClientID = "sandbox-backend"
)

// demoScopes are what the demo app may ask for: every launch and identity
// scope, and everything a patient or user may do.
const demoScopes = "launch launch/patient launch/encounter openid fhirUser profile offline_access online_access patient/*.cruds user/*.cruds"

// demoClients returns the demo registrations cfg asks for.
func demoClients(cfg Config) ([]*smart.Client, error) {
	clients := []*smart.Client{{
		ID: DemoClientID, Name: "Sandbox demo app", Sandbox: fhirstore.DefaultSandbox, Type: smart.Public,
		RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]/callback"},
		LaunchURL:    "http://127.0.0.1:8765/launch",
		Scopes:       demoScopes,
	}}
	if cfg.DemoBackendJWKS == "" {
		return clients, nil
	}
	backend := &smart.Client{ID: DemoBackendClientID, Name: "Sandbox demo backend service",
		Sandbox: fhirstore.DefaultSandbox, Type: smart.ConfidentialAsymmetric, Scopes: "system/*.cruds"}
	if strings.HasPrefix(cfg.DemoBackendJWKS, "https://") || strings.HasPrefix(cfg.DemoBackendJWKS, "http://") {
		backend.JWKSURL = cfg.DemoBackendJWKS
	} else {
		b, err := os.ReadFile(cfg.DemoBackendJWKS)
		if err != nil {
			return nil, fmt.Errorf("--demo-backend-jwks: %w", err)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 {
			return nil, fmt.Errorf("--demo-backend-jwks %s: want a JSON Web Key Set ({\"keys\":[…]}) with the public keys of the backend service", cfg.DemoBackendJWKS)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				return nil, fmt.Errorf("--demo-backend-jwks %s: key %q is private; publish only the public keys", cfg.DemoBackendJWKS, k.KeyID)
			}
		}
		backend.JWKS = &set
	}
	return append(clients, backend), nil
}
