package sandbox

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/adminapi"
	"hpsandbox/sandbox/guides"
	"hpsandbox/sandbox/openapi"
	"hpsandbox/smart"
)

// guidesPath is where the API guides are served.
const guidesPath = "/guides"

// mountDocs serves the server's OpenAPI document at /openapi.json, built
// from the admin API's document, the authorization server's routes and
// the FHIR API's CapabilityStatement, and the API guides at /guides.
// Both are built on their first request, not at start: they cost a
// few tenths of a second of CPU that most gateways (the tests start
// hundreds) would spend for nobody.
func mountDocs(e *gin.Engine, capability []byte, authRoutes []smart.Route, launchPath string) {
	auth := make([]string, 0, len(authRoutes)+3)
	for _, r := range authRoutes {
		auth = append(auth, r.Method+" "+r.Path)
	}
	auth = append(auth, http.MethodGet+" "+launchPath, http.MethodPost+" "+registerPath)
	build := sync.OnceValues(func() (*docs, error) {
		doc, err := openapi.Build(openapi.Input{Admin: adminapi.OpenAPI(), AdminBase: adminAPIPath,
			Capability: capability, FHIRBase: fhirBasePath, Auth: auth, Version: Version})
		if err != nil {
			return nil, err
		}
		set, err := loadGuides()
		if err != nil {
			return nil, err
		}
		h, err := guides.NewHandler(set, guidesPath, doc, []guides.Link{
			{Title: "OpenAPI document", URL: openapi.Path},
			{Title: "CapabilityStatement", URL: fhirBasePath + "/metadata"},
			{Title: "SMART configuration", URL: fhirBasePath + "/.well-known/smart-configuration"},
		})
		if err != nil {
			return nil, err
		}
		return &docs{openAPI: doc, guides: h}, nil
	})
	built := func(c *gin.Context) *docs {
		d, err := build()
		if err != nil {
			_ = c.Error(err)
			c.String(http.StatusInternalServerError, "the documentation could not be built: %v\n", err)
			return nil
		}
		return d
	}
	e.GET(openapi.Path, func(c *gin.Context) {
		if d := built(c); d != nil {
			c.Header("Cache-Control", "public, max-age=300")
			c.Data(http.StatusOK, "application/json", d.openAPI)
		}
	})
	serve := func(c *gin.Context) {
		if d := built(c); d != nil {
			d.guides.ServeHTTP(c.Writer, c.Request)
		}
	}
	e.GET(guidesPath, serve)
	e.GET(guidesPath+"/*rest", serve)
	e.HEAD(guidesPath, serve)
	e.HEAD(guidesPath+"/*rest", serve)
}

// docs are the OpenAPI document and the guides' handler of a gateway.
type docs struct {
	openAPI []byte
	guides  *guides.Handler
}

// loadGuides renders the guides once per process: they are the binary's
// own files, and rendering them (their code highlighted) costs most of a
// second of CPU, which every gateway of a process (the tests start
// hundreds) would otherwise pay again for the same pages.
var loadGuides = sync.OnceValues(func() (*guides.Set, error) {
	return guides.Load(guides.Options{Prefix: guidesPath})
})
