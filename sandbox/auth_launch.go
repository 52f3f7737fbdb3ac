package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/smart"
)

// ehrLaunch serves the sandbox's "launch from EHR" action,
//
//	GET /auth/ehr-launch?client_id=…&patient=…[&encounter=…][&user=Practitioner/…]
//	    [&intent=…][&need_patient_banner=false][&smart_style_url=…][&launch_url=…]
//
// It does what an EHR does when a clinician opens an app from a patient's
// chart: it stores the launch context and sends the browser to the app's
// launch URL with `iss` (the FHIR base) and `launch`. launch_url may
// replace the registered launch URL by a loopback one (any port), for apps
// under development. The context's patient, encounter and user must exist
// in the client's sandbox.
func ehrLaunch(authz *smart.Server, clients smart.ClientStore, store fhirstore.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		bad := func(status int, format string, args ...any) {
			c.JSON(status, gin.H{"error": "invalid_request", "error_description": fmt.Sprintf(format, args...)})
		}
		ctx := c.Request.Context()
		client, err := clients.Client(ctx, c.Query("client_id"))
		if err != nil {
			bad(http.StatusBadRequest, "client_id %q is not a registered app", c.Query("client_id"))
			return
		}
		sandbox := sandboxOr(client.Sandbox)
		lc := smart.LaunchContext{
			Patient: c.Query("patient"), Encounter: c.Query("encounter"), User: c.Query("user"),
			Intent: c.Query("intent"), SmartStyleURL: c.Query("smart_style_url"),
			NeedPatientBanner: true, Sandbox: client.Sandbox,
		}
		if v := c.Query("need_patient_banner"); v != "" {
			if lc.NeedPatientBanner, err = strconv.ParseBool(v); err != nil {
				bad(http.StatusBadRequest, "need_patient_banner=%q: want true or false", v)
				return
			}
		}
		if lc.Patient == "" {
			bad(http.StatusBadRequest, "patient is required: the id of the Patient whose chart the app is opened from")
			return
		}
		refs := []string{"Patient/" + lc.Patient}
		if lc.Encounter != "" {
			refs = append(refs, "Encounter/"+lc.Encounter)
		}
		if lc.User != "" {
			refs = append(refs, lc.User)
		}
		for _, ref := range refs {
			typ, id, _ := strings.Cut(ref, "/")
			_, err := store.Read(ctx, fhirstore.Sandbox(sandbox), typ, id)
			var gone *fhirstore.GoneError
			if errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone) || id == "" {
				bad(http.StatusNotFound, "%s is not in the sandbox %s", ref, sandbox)
				return
			}
			if err != nil {
				c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
				return
			}
		}
		if lu := c.Query("launch_url"); lu != "" {
			if !smart.IsLoopbackURL(lu) {
				bad(http.StatusBadRequest, "launch_url must be a loopback http URL such as http://127.0.0.1:8765/launch; other apps are launched at their registered URL")
				return
			}
			client.LaunchURL = lu
		}
		id, err := authz.MintLaunch(ctx, lc)
		if err != nil {
			bad(http.StatusBadRequest, "%v", err)
			return
		}
		target, err := authz.LaunchURL(ctx, client, id)
		if err != nil {
			bad(http.StatusBadRequest, "%v", err)
			return
		}
		c.Redirect(http.StatusFound, target)
	}
}
