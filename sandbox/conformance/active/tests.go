package active

import (
	"fmt"
	"slices"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// Profile ids of the active suite.
const (
	// ProfileServer is every test.
	ProfileServer = "server"
	// ProfileFHIRAPI is the FHIR API without the SMART authorization
	// tests (a backend token is still got, to read a secured server).
	ProfileFHIRAPI = "fhir-api"
	// ProfileSMART is discovery, backend services and patient scopes.
	ProfileSMART = "smart"
)

// Tests returns every active test in the order they run: discovery
// first, then the backend token the FHIR tests read with, then the FHIR
// API, its errors, and patient scopes.
func Tests() []Test {
	errs := errorTests()
	return slices.Concat(discoveryTests(), backendTests(), errs[:2], fhirTests(), errs[2:], scopeTests())
}

// Profiles returns the profiles of the active suite, with their tests'
// ids in run order.
func Profiles() []conformance.Profile {
	// Both profiles need the discovery documents and the backend token
	// to read a secured server, and say whether it is secured.
	both := []string{"active.discovery-smart-configuration", "active.discovery-capability-statement",
		"active.backend-token-flow", "active.error-401-no-token", "active.error-401-invalid-token"}
	var all, fhir, smart []string
	for _, t := range Tests() {
		all = append(all, t.ID)
		family, _, _ := strings.Cut(strings.TrimPrefix(t.ID, "active."), "-")
		switch {
		case slices.Contains(both, t.ID):
			fhir, smart = append(fhir, t.ID), append(smart, t.ID)
		case family == "discovery" || family == "backend" || family == "patient":
			smart = append(smart, t.ID)
		default:
			fhir = append(fhir, t.ID)
		}
	}
	return []conformance.Profile{
		{ID: ProfileServer, Title: "FHIR R4 and SMART server (active)",
			Description: "Every active test: discovery, backend services, the FHIR API, its errors and patient scopes.", Checks: all},
		{ID: ProfileFHIRAPI, Title: "FHIR R4 API (active)",
			Description: "Discovery, read, search, paging and error formats of the FHIR API.", Checks: fhir},
		{ID: ProfileSMART, Title: "SMART authorization server (active)",
			Description: "Discovery, SMART Backend Services tokens and patient-scope enforcement.", Checks: smart},
	}
}

// ProfileTests returns profile id and its tests, in run order.
func ProfileTests(id string) (conformance.Profile, []Test, error) {
	for _, p := range Profiles() {
		if p.ID != id {
			continue
		}
		var out []Test
		for _, t := range Tests() {
			if slices.Contains(p.Checks, t.ID) {
				out = append(out, t)
			}
		}
		return p, out, nil
	}
	return conformance.Profile{}, nil, fmt.Errorf("%w: %q (the active profiles are %s)", conformance.ErrUnknownProfile, id, strings.Join(ProfileIDs(), ", "))
}

// ProfileIDs are the ids of Profiles.
func ProfileIDs() []string {
	var ids []string
	for _, p := range Profiles() {
		ids = append(ids, p.ID)
	}
	return ids
}
