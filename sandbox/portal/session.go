package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Cookie names. Both are HttpOnly, SameSite=Lax and scoped to /portal.
const (
	sessionCookie = "hps_portal"
	oidcCookie    = "hps_portal_oidc"
)

// anonymousTTL bounds how long a sign-in form stays usable.
const anonymousTTL = 2 * time.Hour

// csrfField is the hidden form field carrying the CSRF token.
const csrfField = "csrf"

// session is what the session cookie carries: who signed in (empty on the
// sign-in pages), until when, and the secret the CSRF token derives from.
// The cookie is signed, not encrypted; it holds nothing secret from its
// own browser.
type session struct {
	User    string `json:"u,omitempty"`
	Expires int64  `json:"e"`
	CSRF    string `json:"c"`
}

func (p *Portal) newSession(user string, ttl time.Duration) session {
	return session{User: user, Expires: p.now().Add(ttl).Unix(), CSRF: randomString(18)}
}

// csrfToken is the session's token for its forms. It is derived from the
// session's secret, so the cookie's value never appears in a page.
func (p *Portal) csrfToken(s session) string {
	if s.CSRF == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(p.mac("csrf", s.CSRF))
}

// checkCSRF reports whether the POSTed form carries the session's token.
func (p *Portal) checkCSRF(c *gin.Context, s session) bool {
	want := p.csrfToken(s)
	got := c.PostForm(csrfField)
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

// readSession returns the browser's session if its cookie is intact and
// unexpired.
func (p *Portal) readSession(c *gin.Context) (session, bool) {
	raw, err := c.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	var s session
	if err := p.open("session", raw, &s); err != nil || s.CSRF == "" || p.now().Unix() >= s.Expires {
		return session{}, false
	}
	return s, true
}

func (p *Portal) writeSession(c *gin.Context, s session) {
	p.setCookie(c, sessionCookie, p.seal("session", s), time.Unix(s.Expires, 0))
}

func (p *Portal) setCookie(c *gin.Context, name, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: basePath, Expires: expires,
		HttpOnly: true, Secure: p.d.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (p *Portal) clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: "", Path: basePath, MaxAge: -1,
		HttpOnly: true, Secure: p.d.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// seal returns v as JSON, base64url-encoded and signed for purpose, so
// that a value signed for one cookie is not accepted as another.
func (p *Portal) seal(purpose string, v any) string {
	payload, err := json.Marshal(v)
	if err != nil {
		panic("portal: sealing a cookie value: " + err.Error()) // only plain structs are sealed
	}
	body := base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(p.mac(purpose, body))
}

var errBadSeal = errors.New("portal: cookie is malformed or not signed by this portal")

// open checks a sealed value's signature and decodes it into v.
func (p *Portal) open(purpose, raw string, v any) error {
	body, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return errBadSeal
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, p.mac(purpose, body)) {
		return errBadSeal
	}
	payload, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(payload, v) != nil {
		return errBadSeal
	}
	return nil
}

func (p *Portal) mac(purpose, msg string) []byte {
	m := hmac.New(sha256.New, p.d.SessionKey)
	m.Write([]byte("hps-portal/" + purpose + "\x00"))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
