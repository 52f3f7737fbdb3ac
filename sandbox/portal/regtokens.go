package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// tokenLifetime is a choice of the form that issues initial access tokens.
type tokenLifetime struct {
	Hours int
	Label string
}

// tokenLifetimes are the form's choices.
var tokenLifetimes = []tokenLifetime{{1, "1 hour"}, {24, "1 day"}, {24 * 7, "7 days"}, {24 * 30, "30 days"}, {24 * 90, "90 days"}}

// issuedTokenData is the page shown once after issuing an initial access
// token.
type issuedTokenData struct {
	Sandbox              *tenant.Sandbox
	Token                *tenant.RegistrationToken
	Secret               string
	RegistrationEndpoint string
}

// issueRegistrationToken issues an initial access token and shows it, this
// once.
func (p *Portal) issueRegistrationToken(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	req := tenant.NewRegistrationToken{Description: c.PostForm("description")}
	if raw := strings.TrimSpace(c.PostForm("hours")); raw != "" {
		h, err := strconv.Atoi(raw)
		if err != nil || h < 1 || h > 24*90 {
			p.showSandbox(c, v, http.StatusBadRequest, "Lifetime: want 1 to 2160 hours (90 days).")
			return
		}
		req.ExpiresIn = h * 3600
	}
	if raw := strings.TrimSpace(c.PostForm("max_uses")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			p.showSandbox(c, v, http.StatusBadRequest, "Registrations: want a whole number, 0 for any number until the token expires.")
			return
		}
		req.MaxUses = &n
	}
	t, secret, err := p.d.Tenants.IssueRegistrationToken(c.Request.Context(), v.account, sb.ID, req)
	var inv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		p.showSandbox(c, v, http.StatusBadRequest, inv.Error())
		return
	case err != nil:
		p.fail(c, v, err)
		return
	}
	d := issuedTokenData{Sandbox: sb, Token: t, Secret: secret}
	if p.d.RegistrationEndpoint != nil {
		d.RegistrationEndpoint = p.d.RegistrationEndpoint(sb.ID)
	}
	p.render(c, v, http.StatusCreated, "token_issued", "Initial access token issued", d)
}

// revokeRegistrationToken revokes an initial access token.
func (p *Portal) revokeRegistrationToken(c *gin.Context, v *visit) {
	sb, ok := p.changeable(c, v)
	if !ok {
		return
	}
	if err := p.d.Tenants.RevokeRegistrationToken(c.Request.Context(), v.account, sb.ID, c.Param("token")); err != nil {
		p.fail(c, v, err)
		return
	}
	c.Redirect(http.StatusSeeOther, sandboxPath(sb.ID)+"?done=token-revoked#registration-tokens")
}
