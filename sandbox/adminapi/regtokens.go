package adminapi

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// issuedRegistrationTokenJSON is the answer to issuing an initial access
// token: its record and the token itself, which the registry keeps only as
// a hash and no later answer can show.
type issuedRegistrationTokenJSON struct {
	*tenant.RegistrationToken
	Token string `json:"token"`
}

func (a *API) listRegistrationTokens(c *gin.Context, who *tenant.Account) error {
	list, err := a.d.Tenants.RegistrationTokens(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	c.JSON(http.StatusOK, gin.H{"registration_tokens": list})
	return nil
}

func (a *API) issueRegistrationToken(c *gin.Context, who *tenant.Account) error {
	var req tenant.NewRegistrationToken
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	t, token, err := a.d.Tenants.IssueRegistrationToken(c.Request.Context(), who, c.Param("id"), req)
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	created(c, url.PathEscape(t.ID), issuedRegistrationTokenJSON{RegistrationToken: t, Token: token})
	return nil
}

func (a *API) revokeRegistrationToken(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	if err := a.d.Tenants.RevokeRegistrationToken(c.Request.Context(), who, c.Param("id"), c.Param("token_id")); err != nil {
		return orNotFound(err, "initial access token of this sandbox")
	}
	c.Status(http.StatusNoContent)
	return nil
}
