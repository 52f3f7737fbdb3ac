package conformance

import (
	"errors"
)

// ErrUnknownProfile is wrapped by errors about a profile id the registry
// does not hold.
var ErrUnknownProfile = errors.New("conformance: unknown profile")

// Profile ids of Default.
const (
	ProfilePatientApp   = "smart-app-patient"
	ProfileClinicianApp = "smart-app-clinician"
	ProfileBackend      = "smart-backend"
	ProfileFHIRClient   = "fhir-client"
)

// PassiveChecks returns this package's checks of recorded traffic.
func PassiveChecks() []Check {
	var out []Check
	out = append(out, authorizationChecks()...)
	out = append(out, assertionChecks()...)
	out = append(out, discoveryFirst(), noTokenInURL(), leastPrivilege(), refreshNotReauthorize(), patientCompartment(), backOff())
	out = append(out, fhirChecks()...)
	return out
}

// fhirClientChecks are what every FHIR client is held to.
var fhirClientChecks = []string{"smart.discovery-first", "oauth.no-token-in-url", "fhir.accept-fhir-json",
	"fhir.follows-next-link", "fhir.count-valid", "http.back-off", "fhir.valid-writes", "fhir.safe-retries"}

// appChecks are what an app that users launch is held to besides.
var appChecks = []string{"smart.pkce-s256", "smart.state-entropy", "smart.aud-fhir-base", "smart.redirect-uri-exact",
	"smart.least-privilege", "smart.refresh-not-reauthorize"}

// backendChecks are what a backend service is held to besides.
var backendChecks = []string{"smart.assertion-alg", "smart.assertion-lifetime", "smart.assertion-jti",
	"smart.assertion-iss-sub", "smart.least-privilege"}

// DefaultProfiles returns the profiles of this package's checks.
func DefaultProfiles() []Profile {
	join := func(a, b []string) []string { return append(append([]string(nil), a...), b...) }
	return []Profile{
		{ID: ProfilePatientApp, Title: "SMART app, patient-facing",
			Description: "An app a patient launches standalone: SMART App Launch authorization and a careful FHIR client.",
			Checks:      join(join(appChecks, []string{"smart.patient-compartment"}), fhirClientChecks)},
		{ID: ProfileClinicianApp, Title: "SMART app, clinician-facing",
			Description: "An app a clinician launches from the EHR or standalone: SMART App Launch authorization and a careful FHIR client.",
			Checks:      join(appChecks, fhirClientChecks)},
		{ID: ProfileBackend, Title: "SMART backend service",
			Description: "A service without a user: SMART Backend Services client assertions and a careful FHIR client.",
			Checks:      join(backendChecks, fhirClientChecks)},
		{ID: ProfileFHIRClient, Title: "FHIR client basics",
			Description: "What any FHIR R4 client does: media types, paging, back-off, valid and retry-safe writes.",
			Checks:      fhirClientChecks},
	}
}

// Default returns a registry with this package's checks and profiles.
// Connectors' checks are added to it with AddConnector.
func Default() *Registry {
	r := NewRegistry()
	if err := r.Add(PassiveChecks()...); err != nil {
		panic(err) // the package's own checks are malformed: a bug
	}
	for _, p := range DefaultProfiles() {
		if err := r.AddProfile(p); err != nil {
			panic(err)
		}
	}
	return r
}
