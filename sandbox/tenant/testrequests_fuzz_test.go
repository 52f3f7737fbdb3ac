package tenant

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"testing"
)

// FuzzFileTestRequest files what a supplier's form or JSON could hold: it
// never panics, refuses with an InvalidError naming a field, and what it
// keeps is a request whose fields keep the rules.
func FuzzFileTestRequest(f *testing.F) {
	f.Add("Acme Vitals", "app", "dev@acme.example", "smart-app-patient")
	f.Add(" ", "robot", "Kari <k@b.no>", "nope,fhir-client")
	f.Add(strings.Repeat("x", 201), "hub", "a@b", "fhir-client,fhir-client")
	f.Add("Pulse\x00", "device", "\"q\"@b.no", "")
	s, _ := newService(f, Options{})
	f.Fuzz(func(t *testing.T, product, kind, contact, profiles string) {
		var claimed []string
		if profiles != "" {
			claimed = strings.Split(profiles, ",")
		}
		tr, err := s.FileTestRequest(context.Background(), supplierA, NewTestRequest{Product: product, Kind: kind,
			Contact: contact, ClaimedProfiles: claimed}, knownProfiles)
		if err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) || inv.Field == "" || inv.Message == "" {
				t.Fatalf("%q %q %q %q: %v, want an InvalidError naming a field", product, kind, contact, profiles, err)
			}
			return
		}
		a, perr := mail.ParseAddress(tr.Contact)
		switch {
		case tr.Product == "" || len(tr.Product) > 200 || tr.Product != strings.TrimSpace(tr.Product):
			t.Fatalf("kept product %q", tr.Product)
		case !slices.Contains(requestKinds, tr.Kind):
			t.Fatalf("kept kind %q", tr.Kind)
		case perr != nil || a.Address != tr.Contact:
			t.Fatalf("kept contact %q", tr.Contact)
		case len(tr.ClaimedProfiles) == 0 || slices.ContainsFunc(tr.ClaimedProfiles, func(p string) bool { return !knownProfiles(p) }):
			t.Fatalf("kept profiles %q", tr.ClaimedProfiles)
		case tr.State != StateSubmitted || tr.Supplier != "acme":
			t.Fatalf("kept %+v", tr)
		}
	})
}
