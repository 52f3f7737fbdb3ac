package sandbox

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/fhirapi"
)

// Version is the release of the sandbox, set at build time with
// -ldflags "-X hpsandbox/sandbox.Version=…".
var Version = "dev"

// New returns the gateway's handler over store.
func New(cfg Config, store fhirstore.Store, log *slog.Logger) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = false
	e.RedirectTrailingSlash = false
	e.Use(requestID(), logRequests(log), recoverPanics(log))
	e.NoRoute(notFound)

	api := fhirapi.New(store, fhirapi.Config{
		MaxBodyBytes: cfg.MaxBodyBytes,
		PublicURL:    cfg.PublicURL,
		Software:     "HP Sandbox",
		Version:      Version,
	})
	api.Mount(e.Group("/fhir"), func(*gin.Context) string { return fhirstore.DefaultSandbox })

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	return e
}
