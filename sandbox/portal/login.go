package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// loginData is the sign-in page's.
type loginData struct {
	Next     string
	Username string
	Error    string
	// Notice confirms a sign-up.
	Notice string
}

// loginPage shows the sign-in form; a signed-in browser goes on.
func (p *Portal) loginPage(c *gin.Context, v *visit) {
	next := safeNext(c.Query("next"))
	if v.sess.User != "" {
		if _, err := p.d.Tenants.Account(c.Request.Context(), v.sess.User); err == nil {
			c.Redirect(http.StatusSeeOther, next)
			return
		}
	}
	p.render(c, v, http.StatusOK, "login", "Sign in", loginData{Next: next, Notice: signUpNotices[c.Query("signup")]})
}

// login checks a local account's password and starts a session.
func (p *Portal) login(c *gin.Context, v *visit) {
	ctx := c.Request.Context()
	username, next := c.PostForm("username"), safeNext(c.PostForm("next"))
	acct, err := p.d.Tenants.Authenticate(ctx, tenant.SignIn{Username: username, Password: c.PostForm("password"), From: c.Request.RemoteAddr})
	if te, ok := errors.AsType[*tenant.ThrottledError](err); ok {
		p.log.InfoContext(ctx, "portal: sign-in throttled", "retry_after_s", te.RetryAfterSeconds())
		c.Header("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		p.render(c, v, http.StatusTooManyRequests, "login", "Sign in", loginData{Next: next, Username: username,
			Error: fmt.Sprintf("Too many wrong passwords for this account or from your address. Wait %s and try again.", waitText(te.RetryAfterSeconds()))})
		return
	}
	if errors.Is(err, tenant.ErrBadCredentials) {
		p.log.InfoContext(ctx, "portal: sign-in refused", "username", username, "method", "password")
		p.render(c, v, http.StatusUnauthorized, "login", "Sign in",
			loginData{Next: next, Username: username, Error: "Wrong username or password."})
		return
	}
	if errors.Is(err, tenant.ErrPending) {
		p.log.InfoContext(ctx, "portal: sign-in of an account awaiting approval refused", "username", username)
		p.render(c, v, http.StatusForbidden, "login", "Sign in", loginData{Next: next, Username: username, Error: pendingText})
		return
	}
	if err != nil {
		p.fail(c, v, err)
		return
	}
	p.startSession(c, acct, "password")
	c.Redirect(http.StatusSeeOther, next)
}

// startSession gives the browser a new session for acct, with a new CSRF
// secret: nothing of the anonymous session carries over.
func (p *Portal) startSession(c *gin.Context, acct *tenant.Account, method string) {
	p.writeSession(c, p.newSession(acct.Username, p.d.SessionTTL))
	p.log.InfoContext(c.Request.Context(), "portal: signed in", "username", acct.Username, "role", acct.Role, "method", method)
}

// logout ends the session.
func (p *Portal) logout(c *gin.Context, v *visit) {
	p.clearCookie(c, sessionCookie)
	p.log.InfoContext(c.Request.Context(), "portal: signed out", "username", v.account.Username)
	c.Redirect(http.StatusSeeOther, basePath+"/login")
}

// waitText says a wait of secs seconds in words.
func waitText(secs int) string {
	switch {
	case secs < 2:
		return "a second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	default:
		return strconv.Itoa((secs+59)/60) + " minutes"
	}
}
