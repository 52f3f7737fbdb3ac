package sandbox

import (
	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/guides"
)

// guidesPath is where the API guides are served.
const guidesPath = "/guides"

// mountDocs serves the API guides at /guides.
func mountDocs(e *gin.Engine) error {
	set, err := guides.Load(guides.Options{Prefix: guidesPath})
	if err != nil {
		return err
	}
	h, err := guides.NewHandler(set, guidesPath, nil, []guides.Link{
		{Title: "CapabilityStatement", URL: fhirBasePath + "/metadata"},
		{Title: "SMART configuration", URL: fhirBasePath + "/.well-known/smart-configuration"},
	})
	if err != nil {
		return err
	}
	serve := gin.WrapH(h)
	e.GET(guidesPath, serve)
	e.GET(guidesPath+"/*rest", serve)
	e.HEAD(guidesPath, serve)
	e.HEAD(guidesPath+"/*rest", serve)
	return nil
}
