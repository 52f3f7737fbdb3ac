package sandbox

import (
	"context"
	"path/filepath"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

// oauthEvidence keeps the authorization server's facts of a request in
// the request log: it fills the request's Note, which ginlog.ShareNote put
// in the request's context and the log's middleware records. A request
// that names no registered client belongs to no sandbox and is not
// recorded.
type oauthEvidence struct{}

var _ smart.Observer = oauthEvidence{}

// Observe implements smart.Observer.
func (oauthEvidence) Observe(ctx context.Context, ev smart.Event) {
	n := requestlog.NoteFrom(ctx)
	if n == nil || !ev.Known {
		return
	}
	n.Sandbox, n.ClientID = sandboxOr(ev.Sandbox), ev.ClientID
	if ev.Granted != "" {
		n.Scopes = ev.Granted
	}
	facts := requestlog.OAuth(ev.Facts)
	n.OAuth = &facts
}

// checkRegistry is the conformance registry: the sandbox's own checks and
// those of the connectors in set.
func checkRegistry(set *connectors.Set) (*conformance.Registry, error) {
	reg := conformance.Default()
	if err := addPHDChecks(reg); err != nil {
		return nil, err
	}
	if set == nil {
		return reg, nil
	}
	for _, c := range set.Connectors() {
		if cc, ok := c.(connectors.CheckConnector); ok {
			if err := reg.AddConnector(c.ID(), c.ID()+" connector", cc.Checks()); err != nil {
				return nil, err
			}
			if pc, ok := c.(connectors.ProfileConnector); ok {
				for _, p := range pc.Profiles() {
					if err := reg.AddProfile(conformance.Profile{ID: p.ID, Title: p.Title, Description: p.Description, Checks: p.Checks}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return reg, nil
}

// RequestLogPath is the file in which Open keeps the request log of a
// data directory.
func RequestLogPath(dataDir string) string { return filepath.Join(dataDir, requestLogFile) }

// FHIRBase is the absolute FHIR base URL of sandbox id under c's issuer.
func (c Config) FHIRBase(id string) string { return c.Issuer() + sandboxPrefix(id) + fhirBasePath }
