package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"hpsandbox/connectors/helseid/client"
)

// newHelseID makes the simulation's HelseID client (package helseid/client):
// client_credentials with a private_key_jwt assertion of cfg.Key (single-use
// jti, 50 s) and a DPoP proof of a key made for the run (ES256), following
// the server's use_dpop_nonce challenges; each request carries a fresh
// proof of its method, URL and token. The token endpoint is the one the
// SMART configuration of the FHIR server at root names.
func newHelseID(ctx context.Context, cfg Config, root string) (*client.Client, error) {
	c, err := client.New(cfg.Key, cfg.KeyID)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	tokenURL, err := client.TokenEndpoint(ctx, cfg.Client, root)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	c.TokenURL, c.ClientID, c.Scope, c.HTTP = tokenURL, cfg.ClientID, cfg.Scope, cfg.Client
	return c, nil
}

// authorize sets req's Authorization and DPoP headers with hid's token.
func authorize(hid *client.Client, req *http.Request) error {
	err := hid.Authorize(req)
	if errors.Is(err, client.ErrNotDPoP) {
		return fmt.Errorf("sim: %w, or send --token as a bearer token", err)
	}
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}
