package helseidtest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"hpsandbox/connectors/helseid/helseidtest"
)

// A round trip as a connector's test writes it, against a gateway the test
// started (gatewayURL) in a sandbox whose owner issued an initial access
// token (iat).
func Example() {
	gatewayURL, iat := "http://127.0.0.1:8080", "initial-access-token"
	ctx := context.Background()
	c, err := helseidtest.New(gatewayURL)
	if err != nil {
		panic(err)
	}
	// Registered with the HelseID profile: DPoP-bound tokens, the scope
	// and the vkp-id its tokens carry.
	if err := c.Register(ctx, gatewayURL+"/sandboxes/care-dev/auth/register", iat, "nhn:jft/api", "Acme_CareApp_5001"); err != nil {
		fmt.Println(err)
		return
	}
	tok, err := c.Token(ctx, "nhn:jft/api") // follows the use_dpop_nonce challenge
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest(http.MethodPost, gatewayURL+"/sandboxes/care-dev/connectors/jft/jft/v1/Composition",
		bytes.NewReader([]byte(`{"resourceType":"Composition"}`)))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := c.Do(req, tok.AccessToken) // Authorization: DPoP, a fresh proof, the nonce
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Location"))
}
