package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// accountsData is the accounts page's (operators only).
type accountsData struct {
	Accounts []*tenant.Account
	Form     accountForm
	Roles    []tenant.Role
	// OIDCIssuer is the configured provider's issuer, offered as the
	// default issuer of a linked identity.
	OIDCIssuer string
	Notice     string
	// Pending are the accounts awaiting approval, with whether each
	// would join a supplier that has accounts already.
	Pending []pendingAccount
	// SignUpOpen is the setting "allow sign-up without approval".
	SignUpOpen bool
}

// pendingAccount is a sign-up awaiting approval.
type pendingAccount struct {
	*tenant.Account
	// Joins names the active accounts of the same supplier, whose
	// sandboxes the account would see.
	Joins []string
}

// accountForm is the create form's values (never the password) and error.
type accountForm struct {
	Username, Name, Role, Supplier, OIDCIssuer, OIDCSubject string
	Error                                                   string
}

func (p *Portal) accountsPage(c *gin.Context, v *visit) {
	p.showAccounts(c, v, http.StatusOK, accountForm{Role: string(tenant.RoleSupplier)})
}

func (p *Portal) showAccounts(c *gin.Context, v *visit, status int, form accountForm) {
	accts, err := p.d.Tenants.Accounts(c.Request.Context(), v.account)
	if errors.Is(err, tenant.ErrForbidden) {
		p.renderStatus(c, v, http.StatusForbidden, "Operators only", "Only operators manage accounts.")
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	d := accountsData{Form: form, Notice: notices[c.Query("done")],
		Roles: []tenant.Role{tenant.RoleSupplier, tenant.RoleReviewer, tenant.RoleOperator}}
	for _, a := range accts {
		if !a.Pending() {
			d.Accounts = append(d.Accounts, a)
		}
	}
	for _, a := range accts {
		if !a.Pending() {
			continue
		}
		pa := pendingAccount{Account: a}
		for _, o := range d.Accounts {
			if o.Supplier != "" && o.Supplier == a.Supplier {
				pa.Joins = append(pa.Joins, o.Username)
			}
		}
		d.Pending = append(d.Pending, pa)
	}
	if d.SignUpOpen, err = p.d.Tenants.SignUpWithoutApproval(c.Request.Context()); err != nil {
		p.fail(c, v, err)
		return
	}
	if p.oidc != nil {
		d.OIDCIssuer = p.oidc.cfg.Issuer
		if form.OIDCIssuer == "" {
			d.Form.OIDCIssuer = p.oidc.cfg.Issuer
		}
	}
	p.render(c, v, status, "accounts", "Accounts", d)
}

func (p *Portal) createAccount(c *gin.Context, v *visit) {
	if v.account.Role != tenant.RoleOperator {
		p.renderStatus(c, v, http.StatusForbidden, "Operators only", "Only operators manage accounts.")
		return
	}
	form := accountForm{Username: strings.TrimSpace(c.PostForm("username")), Name: c.PostForm("name"),
		Role: c.PostForm("role"), Supplier: strings.TrimSpace(c.PostForm("supplier")),
		OIDCIssuer: strings.TrimSpace(c.PostForm("oidc_issuer")), OIDCSubject: strings.TrimSpace(c.PostForm("oidc_subject"))}
	req := tenant.NewAccount{Username: form.Username, Name: form.Name, Role: tenant.Role(form.Role),
		Supplier: form.Supplier, Password: c.PostForm("password")}
	// The issuer field is prefilled; it links an identity only with a subject.
	if form.OIDCSubject != "" {
		req.OIDCIssuer, req.OIDCSubject = strings.TrimRight(form.OIDCIssuer, "/"), form.OIDCSubject
	}
	if form.Role != string(tenant.RoleSupplier) {
		req.Supplier = ""
	}
	acct, err := p.d.Tenants.CreateAccount(c.Request.Context(), v.account, req)
	var inv *tenant.InvalidError
	switch {
	case errors.As(err, &inv):
		form.Error = inv.Error()
		p.showAccounts(c, v, http.StatusBadRequest, form)
	case errors.Is(err, tenant.ErrExists):
		form.Error = "That username, or that OpenID Connect identity, belongs to another account already."
		p.showAccounts(c, v, http.StatusConflict, form)
	case err != nil:
		p.fail(c, v, err)
	default:
		p.log.InfoContext(c.Request.Context(), "portal: account created", "username", acct.Username, "role", acct.Role, "by", v.account.Username)
		c.Redirect(http.StatusSeeOther, basePath+"/accounts?done=account")
	}
}

func (p *Portal) deleteAccount(c *gin.Context, v *visit) {
	user := c.Param("user")
	err := p.d.Tenants.DeleteAccount(c.Request.Context(), v.account, user)
	var inv *tenant.InvalidError
	switch {
	case errors.Is(err, tenant.ErrForbidden):
		p.renderStatus(c, v, http.StatusForbidden, "Operators only", "Only operators manage accounts.")
	case errors.As(err, &inv):
		p.renderStatus(c, v, http.StatusBadRequest, "Not deleted", "You cannot delete your own account.")
	case err != nil:
		p.fail(c, v, err)
	default:
		p.log.InfoContext(c.Request.Context(), "portal: account deleted", "username", user, "by", v.account.Username)
		c.Redirect(http.StatusSeeOther, basePath+"/accounts?done=account-del")
	}
}
