package smart

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// jwtBearerAssertion is the client_assertion_type of private_key_jwt
// (RFC 7523 §2.2).
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client authentication methods, as named in discovery.
const (
	authNone          = "none"
	authSecretBasic   = "client_secret_basic"
	authSecretPost    = "client_secret_post"
	authPrivateKeyJWT = "private_key_jwt"
)

// authenticatedClient is a client that proved who it is, and how.
type authenticatedClient struct {
	*Client
	method string
	// jkt is the thumbprint of the key of the request's DPoP proof; empty
	// without one.
	jkt string
}

// authenticateClient authenticates the client of a token, introspection or
// revocation request by exactly one of: HTTP Basic, client_secret in the
// body, a private_key_jwt assertion, or (public clients) client_id alone.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*authenticatedClient, error) {
	user, pass, hasBasic := r.BasicAuth()
	assertion, secret := form.Get("client_assertion"), form.Get("client_secret")
	methods := 0
	for _, used := range []bool{hasBasic, assertion != "", secret != ""} {
		if used {
			methods++
		}
	}
	if methods > 1 {
		return nil, ErrInvalidRequest.describe("use exactly one client authentication method")
	}
	formID := form.Get("client_id")
	switch {
	case hasBasic:
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		id, err1 := url.QueryUnescape(user)
		pw, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, basic(ErrInvalidClient.describe("malformed Basic credentials"))
		}
		if formID != "" && formID != id {
			return nil, ErrInvalidRequest.describe("client_id does not match the Basic credentials")
		}
		c, err := s.checkSecretClient(ctx, id, pw)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && e.Code == ErrInvalidClient.Code {
				return nil, basic(e)
			}
			return nil, err
		}
		return &authenticatedClient{Client: c, method: authSecretBasic}, nil
	case secret != "":
		c, err := s.checkSecretClient(ctx, formID, secret)
		if err != nil {
			return nil, err
		}
		return &authenticatedClient{Client: c, method: authSecretPost}, nil
	case assertion != "":
		if form.Get("client_assertion_type") != jwtBearerAssertion {
			return nil, ErrInvalidClient.describe("client_assertion_type must be %s", jwtBearerAssertion)
		}
		c, err := s.verifyClientAssertion(ctx, assertion, formID)
		if err != nil {
			return nil, err
		}
		return &authenticatedClient{Client: c, method: authPrivateKeyJWT}, nil
	}
	if formID == "" {
		return nil, ErrInvalidClient.describe("client authentication required (client_id, secret or client_assertion)")
	}
	c, err := s.lookupClient(ctx, formID)
	if err != nil {
		return nil, err
	}
	if c.Type != Public {
		return nil, ErrInvalidClient.describe("this client is %s and must authenticate", c.Type)
	}
	return &authenticatedClient{Client: c, method: authNone}, nil
}

// basic marks an invalid_client error as an answer to Basic
// authentication, so it carries a WWW-Authenticate challenge.
func basic(e *Error) *Error {
	c := *e
	c.basicChallenge = true
	return &c
}

func (s *Server) checkSecretClient(ctx context.Context, id, secret string) (*Client, error) {
	c, err := s.lookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Type != ConfidentialSymmetric {
		return nil, ErrInvalidClient.describe("this client is %s and cannot use a client secret", c.Type)
	}
	if !c.checkSecret(secret) {
		return nil, ErrInvalidClient.describe("client authentication failed")
	}
	return c, nil
}

// lookupClient finds a client; unknown ids are invalid_client.
func (s *Server) lookupClient(ctx context.Context, id string) (*Client, error) {
	if id == "" {
		return nil, ErrInvalidClient.describe("client_id is required")
	}
	c, err := s.clients.Client(ctx, id)
	if errors.Is(err, ErrClientNotFound) {
		return nil, ErrInvalidClient.describe("unknown client")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "client lookup failed", "err", err)
		return nil, ErrServerError.describe("client lookup failed")
	}
	return c, nil
}
