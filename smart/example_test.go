package smart_test

import (
	"errors"
	"net/http"

	"hpsandbox/smart"
)

// The gateway mounts the routes and enforces tokens on FHIR requests.
func Example() {
	keys, err := smart.NewKeys()
	if err != nil {
		panic(err)
	}
	srv, err := smart.New(smart.Config{Issuer: "http://127.0.0.1:8080"}, smart.Deps{
		Keys:    keys,
		Clients: smart.NewMemoryClients(&smart.Client{ID: "app", Type: smart.Public, Scopes: "launch/patient openid fhirUser patient/*.rs"}),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for _, r := range srv.Routes() {
		mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	mux.HandleFunc("GET /fhir/{type}", func(w http.ResponseWriter, r *http.Request) {
		grant, err := srv.Authenticate(r)
		var perm smart.Permission
		if err == nil {
			perm, err = grant.Permit(r.PathValue("type"), smart.Search)
		}
		var oauthErr *smart.Error
		if errors.As(err, &oauthErr) {
			if h := oauthErr.WWWAuthenticate(); h != "" {
				w.Header().Set("WWW-Authenticate", h)
			}
			http.Error(w, oauthErr.Description, oauthErr.Status)
			return
		}
		// Search within grant.Sandbox; at patient level only in
		// perm.Patient's compartment; match one of perm.Constraints if any.
		_ = perm
	})
}
