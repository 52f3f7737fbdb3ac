package adminapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// sandboxJSON is a sandbox as the API shows it: the registry's fields and
// where to reach it.
type sandboxJSON struct {
	*tenant.Sandbox
	FHIRBase             string `json:"fhir_base,omitempty"`
	RegistrationEndpoint string `json:"registration_endpoint,omitempty"`
}

func (a *API) sandboxJSON(sb *tenant.Sandbox) sandboxJSON {
	// The registry keeps a sandbox's times to the millisecond, but the
	// sandbox that create and reset return has them to the nanosecond; the
	// API shows what a later read shows.
	cp := *sb
	cp.Created, cp.ResetAt = cp.Created.Truncate(time.Millisecond), cp.ResetAt.Truncate(time.Millisecond)
	v := sandboxJSON{Sandbox: &cp}
	if a.d.FHIRBase != nil {
		v.FHIRBase = a.d.FHIRBase(sb.ID)
	}
	if a.d.RegistrationEndpoint != nil && sb.Settings.DynamicRegistration {
		v.RegistrationEndpoint = a.d.RegistrationEndpoint(sb.ID)
	}
	return v
}

func (a *API) listSandboxes(c *gin.Context, who *tenant.Account) error {
	all, err := a.d.Tenants.Sandboxes(c.Request.Context(), who)
	if err != nil {
		return err
	}
	list := make([]sandboxJSON, len(all))
	for i, sb := range all {
		list[i] = a.sandboxJSON(sb)
	}
	c.JSON(http.StatusOK, gin.H{"sandboxes": list})
	return nil
}

// newSandboxJSON is a create request. Settings left out of it keep their
// defaults, as a PATCH keeps the current ones.
type newSandboxJSON struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Supplier     string          `json:"supplier"`
	Settings     json.RawMessage `json:"settings"`
	SeedPatients *int            `json:"seed_patients"`
	Seed         *int64          `json:"seed"`
}

func (a *API) createSandbox(c *gin.Context, who *tenant.Account) error {
	var req newSandboxJSON
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	settings := tenant.DefaultSettings()
	if err := mergeSettings(&settings, req.Settings); err != nil {
		return err
	}
	sb, err := a.d.Tenants.CreateSandbox(c.Request.Context(), who, tenant.NewSandbox{ID: req.ID, Name: req.Name,
		Supplier: req.Supplier, Settings: &settings, SeedPatients: req.SeedPatients, Seed: req.Seed})
	if err != nil {
		return err
	}
	created(c, url.PathEscape(sb.ID), a.sandboxJSON(sb))
	return nil
}

// mergeSettings applies the settings object of a request (RFC 7396 style:
// fields present replace, fields absent stay) to s.
func mergeSettings(s *tenant.Settings, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return decodeStrict(raw, s, "settings")
}

func (a *API) getSandbox(c *gin.Context, who *tenant.Account) error {
	sb, err := a.d.Tenants.SandboxFor(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	c.JSON(http.StatusOK, a.sandboxJSON(sb))
	return nil
}

// sandboxPatch is a JSON merge patch (RFC 7396) of a sandbox's name and
// settings; the rest of a sandbox is fixed at creation.
type sandboxPatch struct {
	Name     *string         `json:"name"`
	Settings json.RawMessage `json:"settings"`
}

func (a *API) updateSandbox(c *gin.Context, who *tenant.Account) error {
	var req sandboxPatch
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	ctx, id := c.Request.Context(), c.Param("id")
	var settings *tenant.Settings
	if len(req.Settings) > 0 && string(req.Settings) != "null" {
		// Two patches of different settings at once may lose one; the
		// admin API is not busy enough to make that worth a version check.
		sb, err := a.d.Tenants.SandboxFor(ctx, who, id)
		if err != nil {
			return orNotFound(err, "sandbox")
		}
		settings = &sb.Settings
		if err := mergeSettings(settings, req.Settings); err != nil {
			return err
		}
	}
	sb, err := a.d.Tenants.UpdateSandbox(ctx, who, id, req.Name, settings)
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	c.JSON(http.StatusOK, a.sandboxJSON(sb))
	return nil
}

func (a *API) deleteSandbox(c *gin.Context, who *tenant.Account) error {
	if err := a.d.Tenants.DeleteSandbox(c.Request.Context(), who, c.Param("id")); err != nil {
		return orNotFound(err, "sandbox")
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (a *API) resetSandbox(c *gin.Context, who *tenant.Account) error {
	sb, err := a.d.Tenants.ResetSandbox(c.Request.Context(), who, c.Param("id"))
	if err != nil {
		return orNotFound(err, "sandbox")
	}
	c.JSON(http.StatusOK, a.sandboxJSON(sb))
	return nil
}

// created answers 201 with v and the Location of the new member id of the
// collection the request was posted to.
func created(c *gin.Context, id string, v any) {
	c.Header("Location", c.Request.URL.EscapedPath()+"/"+id)
	c.JSON(http.StatusCreated, v)
}
