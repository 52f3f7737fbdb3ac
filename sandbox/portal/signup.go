package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// pendingText is what an account awaiting approval is told when it tries
// to sign in.
const pendingText = "Your account awaits an operator's approval. You can sign in once an operator has approved it."

// signUpNotices are the confirmations the sign-in page shows after a
// sign-up, by ?signup=…; the query never puts its own text on a page.
var signUpNotices = map[string]string{
	"pending": "Thank you. Your account awaits an operator's approval; you can sign in once it is approved.",
	"ready":   "Thank you. Your account is ready: sign in with your email and password.",
}

// signUpData is the sign-up page's: the form's values (never the
// password) and what was wrong with them.
type signUpData struct {
	Name, Email, Organisation string
	Error                     string
	// Open says sign-ups of new organisations are approved at once.
	Open bool
}

func (p *Portal) signUpPage(c *gin.Context, v *visit) {
	open, err := p.d.Tenants.SignUpWithoutApproval(c.Request.Context())
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.render(c, v, http.StatusOK, "signup", "Sign up", signUpData{Open: open})
}

// signUp asks the tenant service for an account. A taken email gets the
// very answer a new account would, so that the form tells no more about
// which emails exist than the sign-in form does.
func (p *Portal) signUp(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	d := signUpData{Name: c.PostForm("name"), Email: c.PostForm("email"), Organisation: c.PostForm("organisation")}
	res, err := p.d.Tenants.SignUp(ctx, tenant.SignUp{Name: d.Name, Email: d.Email, Organisation: d.Organisation,
		Password: c.PostForm("password"), From: c.Request.RemoteAddr})
	var inv *tenant.InvalidError
	if te, ok := errors.AsType[*tenant.ThrottledError](err); ok {
		p.log.WarnContext(ctx, "portal: sign-up throttled", "retry_after_s", te.RetryAfterSeconds())
		c.Header("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		d.Error = fmt.Sprintf("Too many sign-ups from your address. Wait %s and try again.", waitText(te.RetryAfterSeconds()))
		p.render(c, v, http.StatusTooManyRequests, "signup", "Sign up", d)
		return
	}
	if errors.As(err, &inv) {
		d.Error = inv.Error()
		p.render(c, v, http.StatusBadRequest, "signup", "Sign up", d)
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	if res.Duplicate {
		p.log.WarnContext(ctx, "portal: sign-up with a taken email answered as if new")
	} else {
		p.log.InfoContext(ctx, "portal: signed up", "username", res.Account.Username, "supplier", res.Account.Supplier,
			"pending", res.Pending, "joins", res.Joins)
	}
	done := "ready"
	if res.Pending {
		done = "pending"
	}
	c.Redirect(http.StatusSeeOther, basePath+"/login?signup="+done)
}

func (p *Portal) approveAccount(c *gin.Context, v *visit) {
	user := c.Param("user")
	_, err := p.d.Tenants.ApproveAccount(c.Request.Context(), v.account, user)
	if p.accountActionFailed(c, v, err) {
		return
	}
	p.log.InfoContext(c.Request.Context(), "portal: sign-up approved", "username", user, "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, basePath+"/accounts?done=approved")
}

func (p *Portal) rejectAccount(c *gin.Context, v *visit) {
	user := c.Param("user")
	err := p.d.Tenants.RejectAccount(c.Request.Context(), v.account, user)
	if p.accountActionFailed(c, v, err) {
		return
	}
	p.log.InfoContext(c.Request.Context(), "portal: sign-up rejected", "username", user, "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, basePath+"/accounts?done=rejected")
}

// accountSettings saves the operator's sign-up setting.
func (p *Portal) accountSettings(c *gin.Context, v *visit) {
	on := c.PostForm("signup_without_approval") == "on"
	err := p.d.Tenants.SetSignUpWithoutApproval(c.Request.Context(), v.account, on)
	if p.accountActionFailed(c, v, err) {
		return
	}
	p.log.InfoContext(c.Request.Context(), "portal: sign-up setting changed", "without_approval", on, "by", v.account.Username)
	c.Redirect(http.StatusSeeOther, basePath+"/accounts?done=signup-settings")
}

// accountActionFailed answers err of an operator's action on accounts,
// and reports whether there was one.
func (p *Portal) accountActionFailed(c *gin.Context, v *visit, err error) bool {
	var inv *tenant.InvalidError
	switch {
	case err == nil:
		return false
	case errors.Is(err, tenant.ErrForbidden):
		p.renderStatus(c, v, http.StatusForbidden, "Operators only", "Only operators manage accounts.")
	case errors.As(err, &inv):
		p.renderStatus(c, v, http.StatusConflict, "Not changed", inv.Error())
	default:
		p.fail(c, v, err)
	}
	return true
}
