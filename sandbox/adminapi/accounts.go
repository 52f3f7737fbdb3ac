package adminapi

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

func (a *API) getMe(c *gin.Context, who *tenant.Account) error {
	c.JSON(http.StatusOK, who)
	return nil
}

func (a *API) listAccounts(c *gin.Context, who *tenant.Account) error {
	all, err := a.d.Tenants.Accounts(c.Request.Context(), who)
	if err != nil {
		return err
	}
	if all == nil {
		all = []*tenant.Account{}
	}
	c.JSON(http.StatusOK, gin.H{"accounts": all})
	return nil
}

func (a *API) createAccount(c *gin.Context, who *tenant.Account) error {
	// Refused before the body is read, so that a supplier learns nothing
	// from how its request would have been judged.
	if who.Role != tenant.RoleOperator {
		return operatorsOnly()
	}
	var req tenant.NewAccount
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	acc, err := a.d.Tenants.CreateAccount(c.Request.Context(), who, req)
	if err != nil {
		return err
	}
	created(c, url.PathEscape(acc.Username), acc)
	return nil
}

func operatorsOnly() *Problem {
	return problem(kindForbidden, "Only operators manage accounts.")
}

// ownOrOperator refuses, before looking anything up, a non-operator
// asking about an account other than its own; whether that account
// exists is none of its business.
func ownOrOperator(who *tenant.Account, username string) error {
	if who.Role != tenant.RoleOperator && who.Username != username {
		return problem(kindForbidden, "Only operators manage other accounts than their own.")
	}
	return nil
}

func (a *API) getAccount(c *gin.Context, who *tenant.Account) error {
	username := c.Param("username")
	if err := ownOrOperator(who, username); err != nil {
		return err
	}
	acc, err := a.d.Tenants.Account(c.Request.Context(), username)
	if err != nil {
		return orNotFound(err, "account")
	}
	c.JSON(http.StatusOK, acc)
	return nil
}

func (a *API) deleteAccount(c *gin.Context, who *tenant.Account) error {
	if who.Role != tenant.RoleOperator {
		return operatorsOnly()
	}
	if err := a.d.Tenants.DeleteAccount(c.Request.Context(), who, c.Param("username")); err != nil {
		return orNotFound(err, "account")
	}
	c.Status(http.StatusNoContent)
	return nil
}

// passwordJSON is a new password.
type passwordJSON struct {
	Password string `json:"password"`
}

func (a *API) setPassword(c *gin.Context, who *tenant.Account) error {
	username := c.Param("username")
	if err := ownOrOperator(who, username); err != nil {
		return err
	}
	var req passwordJSON
	if err := a.decodeBody(c, &req); err != nil {
		return err
	}
	if err := a.d.Tenants.SetPassword(c.Request.Context(), who, username, req.Password); err != nil {
		return orNotFound(err, "account")
	}
	c.Status(http.StatusNoContent)
	return nil
}
