package sandbox

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"hpsandbox/smart"
)

// narrowSearch makes a confined type search ask only for what the grant
// may see, so that its matches, counts and paging are right: at patient
// level it becomes the search of the patient's compartment
// (Patient/[id]/[type]); a single v2 constraint is added to its
// parameters. What it cannot narrow (several constraints) the check of
// the answer still refuses.
func narrowSearch(c *gin.Context, in interaction, p smart.Permission) error {
	q := c.Request.URL.Query()
	if c.Request.Method == http.MethodPost {
		// POST [type]/_search: its form joins the query, and it is run as
		// the GET the compartment search is served on.
		if err := c.Request.ParseForm(); err != nil {
			return fmt.Errorf("the form body cannot be read: %v", err)
		}
		for k, vs := range c.Request.PostForm {
			q[k] = append(q[k], vs...)
		}
		c.Request.Method = http.MethodGet
		c.Request.Body = http.NoBody
		c.Request.ContentLength = 0
		c.Request.Header.Del("Content-Type")
	}
	if p.Level == smart.LevelPatient {
		switch in.compartment {
		case "":
			setPath(c, "/Patient/"+p.Patient+"/"+in.typ)
		case p.Patient:
		default:
			return fmt.Errorf("the compartment of Patient/%s is not the patient in context (Patient/%s)", in.compartment, p.Patient)
		}
	}
	if len(p.Constraints) == 1 {
		for k, vs := range p.Constraints[0] {
			q[k] = append(q[k], vs...)
		}
	}
	c.Request.URL.RawQuery = q.Encode()
	return nil
}

// setPath reroutes the request within the FHIR base the API serves.
func setPath(c *gin.Context, path string) {
	for i := range c.Params {
		if c.Params[i].Key == "path" {
			c.Params[i].Value = path
		}
	}
}
