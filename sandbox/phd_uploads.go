package sandbox

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/phd"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/ginlog"
)

// addPHDChecks registers the checks of PHD gateway uploads and their
// profile.
func addPHDChecks(reg *conformance.Registry) error {
	if err := reg.Add(phd.Checks()...); err != nil {
		return err
	}
	return reg.AddProfile(phd.Profile())
}

// judgePHDUploads is the middleware, after the access guard, that judges
// each PHD upload (a Bundle POSTed to the FHIR base that names the PHD
// guide's profiles or codes) by the guide's rules once it was answered,
// and puts the verdicts on the upload's own request log entry (one per
// rule that applies), where the "PHD gateway" checks read them. Without a
// request log it does nothing.
func judgePHDUploads(rec *requestlog.Recorder, maxBody int64, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if rec == nil || ginlog.NoteOf(c) == nil || c.Request.Method != http.MethodPost || strings.Trim(c.Param("path"), "/") != "" || c.Request.Body == nil {
			return
		}
		orig := c.Request.Body
		head, err := io.ReadAll(io.LimitReader(orig, maxBody+1))
		// The API reads the body as sent, its limit included.
		c.Request.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), orig), orig}
		if err != nil || int64(len(head)) > maxBody || !phd.IsUpload(head) {
			return
		}
		c.Next()
		defs, err := phd.Definitions()
		if err != nil {
			log.Error("PHD definitions", "err", err)
			return
		}
		if n := ginlog.NoteOf(c); n != nil {
			n.Verdicts = append(n.Verdicts, phd.LogVerdicts(phd.Judge(defs, head))...)
		}
	}
}
