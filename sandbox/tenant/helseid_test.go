package tenant

import (
	"context"
	"errors"
	"testing"
)

func TestRegisterApp_HelseIDProfile_BecomesAHelseIDClient(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "hid", Name: "HelseID", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	app, _, err := s.RegisterApp(ctx, supplierA, "hid", NewApp{Name: "Care app", Type: "confidential-asymmetric", JWKS: pub,
		HelseID: true, VKPID: "Acme_CareApp_5001", Scopes: "nhn:jft/api nhn:vkp/api/user/Observation.write system/Patient.rs"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Clients().Client(ctx, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HelseID || c.Claims["vkp-id"] != "Acme_CareApp_5001" {
		t.Errorf("client %+v: want HelseID with vkp-id", c)
	}
	plain, _, err := s.RegisterApp(ctx, supplierA, "hid", NewApp{Name: "DPoP backend", Type: "confidential-asymmetric", JWKS: pub, DPoPBoundAccessTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Clients().Client(ctx, plain.ClientID); !c.DPoPBound || c.HelseID {
		t.Errorf("client %+v: want DPoP-bound, not HelseID", c)
	}
}

func TestRegisterApp_HelseIDFields_Refused(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "hid", Name: "HelseID", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	for _, tt := range []struct {
		name, field string
		req         NewApp
	}{
		{"NHNScopeWithoutProfile", "scopes", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, Scopes: "nhn:jft/api"}},
		{"VKPIDWithoutProfile", "vkp_id", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, VKPID: "A_B_C"}},
		{"MalformedVKPID", "vkp_id", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, HelseID: true, VKPID: "just-one"}},
		{"PublicApp", "helseid", NewApp{Name: "x", Type: "public", RedirectURIs: []string{"https://a.example/cb"}, HelseID: true}},
		{"MalformedNHNScope", "scopes", NewApp{Name: "x", Type: "confidential-asymmetric", JWKS: pub, HelseID: true, Scopes: "nhn:jft api"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.RegisterApp(ctx, supplierA, "hid", tt.req)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err %v; want an InvalidError on %s", err, tt.field)
			}
		})
	}
}
