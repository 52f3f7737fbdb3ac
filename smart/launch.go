package smart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
)

// LaunchContext is what an EHR knows when it launches an app: the patient
// and encounter open in the chart, the user, and how the app should look.
type LaunchContext struct {
	// Patient is the id of the Patient in context (no "Patient/" prefix).
	Patient string
	// Encounter is the id of the Encounter in context.
	Encounter string
	// User is the fhirUser, e.g. "Practitioner/123".
	User string
	// NeedPatientBanner tells the app whether it must show a patient banner.
	NeedPatientBanner bool
	// SmartStyleURL points at the EHR's styling for apps.
	SmartStyleURL string
	// Intent is the SMART "intent" string, e.g. "reconcile-medications".
	Intent string
	// Sandbox is the tenant the launch belongs to; when set, only clients
	// of that sandbox can use the launch.
	Sandbox string
}

// MintLaunch stores an EHR launch context and returns the opaque launch id
// the app receives as `launch` and sends back to authorize.
func (s *Server) MintLaunch(ctx context.Context, lc LaunchContext) (string, error) {
	if lc.User != "" && !fhirUserPattern.MatchString(lc.User) {
		return "", fmt.Errorf("smart: launch user %q is not a reference like Practitioner/123", lc.User)
	}
	id, err := randomToken()
	if err != nil {
		return "", err
	}
	if err := storeJSON(ctx, s.state, "launch:"+id, lc, launchTTL); err != nil {
		return "", err
	}
	return id, nil
}

// LaunchURL returns the URL that starts an EHR launch of c: the client's
// launch URL with `iss` (the FHIR base) and `launch`.
func (s *Server) LaunchURL(ctx context.Context, c *Client, launchID string) (string, error) {
	u, err := url.Parse(c.LaunchURL)
	if err != nil || c.LaunchURL == "" {
		return "", fmt.Errorf("smart: client %q has no usable launch URL", c.ID)
	}
	base, err := s.FHIRBaseOf(ctx, c.Sandbox)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("iss", base)
	q.Set("launch", launchID)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (s *Server) loadLaunch(ctx context.Context, id string) (*LaunchContext, error) {
	var lc LaunchContext
	if err := loadJSON(ctx, s.state, "launch:"+id, &lc); err != nil {
		return nil, err
	}
	return &lc, nil
}

// PatientSummary is one row of the standalone-launch patient picker.
type PatientSummary struct {
	ID        string
	Name      string
	BirthDate string
}

// PatientLister lists the patients a user may pick in a standalone launch.
// The sandbox being launched is in ctx (SandboxFromContext).
type PatientLister interface {
	ListPatients(ctx context.Context) ([]PatientSummary, error)
}

// PractitionerSummary is one practitioner on the simulated login page.
type PractitionerSummary struct {
	ID   string
	Name string
}

// PractitionerLister is an optional capability of a PatientLister: when
// present, the simulated login page offers its practitioners as users.
type PractitionerLister interface {
	ListPractitioners(ctx context.Context) ([]PractitionerSummary, error)
}

// EncounterSummary is one row of the standalone-launch encounter picker.
type EncounterSummary struct {
	ID          string
	Description string
	Period      string
}

// EncounterLister is an optional capability of a PatientLister: when
// present, a standalone launch that requests launch/encounter lets the user
// pick one of the chosen patient's encounters.
type EncounterLister interface {
	ListEncounters(ctx context.Context, patientID string) ([]EncounterSummary, error)
}

type sandboxKey struct{}

// WithSandbox returns ctx carrying the sandbox (tenant) id.
func WithSandbox(ctx context.Context, sandbox string) context.Context {
	return context.WithValue(ctx, sandboxKey{}, sandbox)
}

// SandboxFromContext returns the sandbox id the server put in ctx before
// calling a PatientLister or PractitionerLister.
func SandboxFromContext(ctx context.Context) string {
	s, _ := ctx.Value(sandboxKey{}).(string)
	return s
}

// randomToken returns 256 random bits, base64url-encoded: launch ids,
// session ids, codes, refresh tokens and token ids.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("smart: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashKey is the state key part for a secret value: stores hold hashes of
// codes and refresh tokens, never the values.
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// isNotFound reports a missing or expired state entry.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
