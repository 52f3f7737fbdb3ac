package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/adminapi"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/portal"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// sessionKeyFile keeps the portal's cookie-signing key in the data
// directory, so that sign-ins survive a restart.
const sessionKeyFile = "portal-session.key"

// loadSessionKey reads the portal's session key from dir, making it on
// first start; an empty dir makes a key for this process only.
func loadSessionKey(dir string) ([]byte, error) {
	if dir == "" {
		return randomKey(), nil
	}
	path := filepath.Join(dir, sessionKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key := randomKey()
		err := writeSecretFile(path, key, false)
		if errors.Is(err, fs.ErrExist) {
			return loadSessionKey(dir) // another process made it first
		}
		if err != nil {
			return nil, fmt.Errorf("writing the portal session key: %w", err)
		}
		return key, nil
	case err != nil:
		return nil, fmt.Errorf("reading the portal session key: %w", err)
	case len(b) < portal.MinSessionKeyBytes:
		return nil, fmt.Errorf("%s holds %d bytes, want %d random bytes; remove it to have a new key made (everyone signs in again)", path, len(b), portal.MinSessionKeyBytes)
	}
	return b, nil
}

func randomKey() []byte {
	k := make([]byte, portal.MinSessionKeyBytes)
	_, _ = rand.Read(k) // never fails (crypto/rand)
	return k
}

// adminAPIPath is where the admin REST API is served.
const adminAPIPath = "/admin/api"

// web is what the admin API and the portal are built from.
type web struct {
	cfg        Config
	tenants    *tenant.Service
	store      fhirstore.Store
	requests   requestlog.Store // nil when the log is off
	recorder   *requestlog.Recorder
	sandboxes  *sandboxes
	sessionKey []byte
	launchPath string
	checks     *conformance.Registry
}

// mount serves the admin API at /admin/api and the portal at /portal,
// with / sending browsers to the portal.
func (w web) mount(e *gin.Engine) error {
	var reqs adminapi.RequestLog
	var preqs portal.RequestLog
	var dropped func() uint64
	if w.requests != nil {
		reqs, preqs = w.requests, w.requests
		dropped = w.recorder.Dropped
	}
	var runner *conformance.Runner
	if w.requests != nil {
		runner = &conformance.Runner{Registry: w.checks, Log: w.requests, Reports: conformance.StoreReports{Store: w.store},
			FHIRBase: w.sandboxes.fhirBase}
	}
	api := adminapi.New(adminapi.Deps{Tenants: w.tenants, Requests: reqs, Dropped: dropped,
		FHIRBase: w.sandboxes.fhirBase, RegistrationEndpoint: w.sandboxes.registrationEndpoint, Conformance: runner})
	api.Mount(e.Group(adminAPIPath))
	e.NoRoute(notFound(api.NoRoute))

	issuer := w.cfg.Issuer()
	d := portal.Deps{Tenants: w.tenants, Store: w.store, Requests: preqs, FHIRBase: w.sandboxes.fhirBase,
		RegistrationEndpoint: w.sandboxes.registrationEndpoint,
		EHRLaunchPath:        w.launchPath, SessionKey: w.sessionKey, SecureCookies: strings.HasPrefix(issuer, "https://"),
		Conformance: runner}
	if w.cfg.PortalOIDCIssuer != "" {
		d.OIDC = &portal.OIDCConfig{Name: w.cfg.PortalOIDCName, Issuer: w.cfg.PortalOIDCIssuer,
			ClientID: w.cfg.PortalOIDCClientID, ClientSecret: w.cfg.PortalOIDCClientSecret,
			RedirectURL: issuer + "/portal/login/oidc/callback"}
		if strings.TrimRight(w.cfg.PortalOIDCIssuer, "/") == issuer {
			// The sandbox's own authorization server as the provider: it
			// is a SMART server and wants the FHIR base as aud.
			d.OIDC.AuthParams = map[string]string{"aud": issuer + fhirBasePath}
		}
	}
	p, err := portal.New(d)
	if err != nil {
		return err
	}
	p.Mount(e)
	e.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/portal/") })
	return nil
}
