package adminapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// accountKey holds the authenticated account in the gin context.
const accountKey = "adminapi.account"

// authenticate lets through a request with the HTTP Basic credentials of
// an account (RFC 7617) and answers 401 otherwise, or 429 with
// Retry-After while the account or the client's address has failed too
// often (tenant.SignInLimits). tenant.Authenticate remembers a checked
// password for a while, so the bcrypt cost is not paid on every call.
// Neither credentials nor usernames are logged: a mistyped username is
// often a password.
//
// The client's address is the connection's: X-Forwarded-For is anyone's to
// write, so behind a proxy every client counts as the proxy.
func (a *API) authenticate(c *gin.Context) {
	username, password, ok := c.Request.BasicAuth()
	if !ok {
		a.renderProblem(c, problem(kindUnauth, "Send the username and password of an account with HTTP Basic authentication."))
		return
	}
	who, err := a.d.Tenants.Authenticate(c.Request.Context(), tenant.SignIn{Username: username, Password: password, From: c.Request.RemoteAddr})
	if te, ok := errors.AsType[*tenant.ThrottledError](err); ok {
		c.Header("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		a.renderProblem(c, problem(kindTooMany, fmt.Sprintf(
			"Too many wrong passwords for this account or from this address; the password was not checked. Try again in %d s.", te.RetryAfterSeconds())))
		return
	}
	if errors.Is(err, tenant.ErrBadCredentials) {
		a.renderProblem(c, problem(kindUnauth, "Wrong username or password."))
		return
	}
	if err != nil {
		a.renderError(c, err)
		return
	}
	c.Set(accountKey, who)
	c.Next()
}

// account is the authenticated account of the request.
func account(c *gin.Context) *tenant.Account {
	who, _ := c.Get(accountKey)
	return who.(*tenant.Account)
}
