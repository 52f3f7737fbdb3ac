package adminapi

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// registeredAppJSON is the answer to a registration: the app and, for a
// confidential-symmetric app, its secret, which the registry keeps only
// as a hash and no later answer can show.
type registeredAppJSON struct {
	*tenant.App
	ClientSecret string `json:"client_secret,omitempty"`
}

func (a *API) listApps(c *gin.Context, who *tenant.Account) error {
	apps, err := a.d.Tenants.Apps(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	if apps == nil {
		apps = []*tenant.App{}
	}
	c.JSON(http.StatusOK, gin.H{"apps": apps})
	return nil
}

func (a *API) registerApp(c *gin.Context, who *tenant.Account) error {
	var req tenant.NewApp
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	app, secret, err := a.d.Tenants.RegisterApp(c.Request.Context(), who, c.Param("id"), req)
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	created(c, url.PathEscape(app.ClientID), registeredAppJSON{App: app, ClientSecret: secret})
	return nil
}

// visibleSandbox answers 404 for a sandbox who may not see, so that a
// missing app is told apart from a missing sandbox without telling
// anything about sandboxes the caller may not see.
func (a *API) visibleSandbox(c *gin.Context, who *tenant.Account) error {
	_, err := a.d.Tenants.SandboxFor(c.Request.Context(), who, c.Param("id"))
	return orNotFound(err, "sandbox")
}

func (a *API) getApp(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	app, err := a.d.Tenants.App(c.Request.Context(), who, c.Param("id"), c.Param("client_id"))
	if err != nil {
		return orNotFound(err, "app in this sandbox")
	}
	c.JSON(http.StatusOK, app)
	return nil
}

func (a *API) deleteApp(c *gin.Context, who *tenant.Account) error {
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	if err := a.d.Tenants.DeleteApp(c.Request.Context(), who, c.Param("id"), c.Param("client_id")); err != nil {
		return orNotFound(err, "app in this sandbox")
	}
	c.Status(http.StatusNoContent)
	return nil
}
