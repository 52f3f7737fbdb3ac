package observe

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"hpsandbox/fhirstore"
)

// Check is one dependency readiness depends on.
type Check struct {
	Name string
	// Ping returns nil when the dependency answers.
	Ping func(ctx context.Context) error
}

// CheckTimeout bounds each check of a readiness request.
const CheckTimeout = 2 * time.Second

// Healthz answers 200 {"status":"ok"} while the process serves: a
// liveness probe, which asks nothing of the dependencies (a restart would
// not bring back a database).
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
}

// Readyz answers 200 when every check passes and 503 otherwise, with a
// body naming each check's result ("ok" or "failed") and listing the
// failed ones. The causes go to log only: the answer is public and a
// cause may name internal hosts.
func Readyz(log *slog.Logger, checks ...Check) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		results := map[string]string{}
		failed := []string{}
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), CheckTimeout)
			err := c.Ping(ctx)
			cancel()
			if err != nil {
				results[c.Name] = "failed"
				failed = append(failed, c.Name)
				log.WarnContext(r.Context(), "not ready", "check", c.Name, "err", err)
				continue
			}
			results[c.Name] = "ok"
		}
		if len(failed) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": results, "failed": failed})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": results})
	})
}

// readyProbeID is the id a store check reads: a well-formed id that no
// resource is stored under, so the answer is ErrNotFound.
const readyProbeID = "hps-readiness-probe"

// StoreCheck is the check of a FHIR store: one read in the default
// sandbox, through the same statements and pool as a request's, which
// answers "not found" (or the resource) when the store works.
func StoreCheck(s fhirstore.Store) Check {
	return Check{Name: "store", Ping: func(ctx context.Context) error {
		_, err := s.Read(ctx, fhirstore.DefaultSandbox, "Basic", readyProbeID)
		var gone *fhirstore.GoneError
		if err == nil || errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone) {
			return nil
		}
		return err
	}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
