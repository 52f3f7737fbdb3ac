package smart

import (
	"sync"
	"time"
)

// maxVerifiedTokens bounds the verified-token cache; past it, expired
// entries are dropped, and if that is not enough, all of them.
const maxVerifiedTokens = 10000

// verifiedTokens remembers access tokens whose signature and fixed claims
// (issuer, audience) were checked, with their parsed scopes, so that an app
// sending the same token on every request pays for one map lookup instead
// of a signature check. Expiry and revocation are still checked on every
// use, and an entry counts only while the key that verified it is held.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	claims *accessClaims
	scopes Scopes
	kid    string
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{m: map[string]verifiedToken{}}
}

// get returns the remembered claims of token if its key is still in keys.
func (v *verifiedTokens) get(token string, keys *Keys) (*accessClaims, Scopes, bool) {
	v.mu.RLock()
	e, ok := v.m[token]
	v.mu.RUnlock()
	if !ok || !keys.has(e.kid) {
		return nil, nil, false
	}
	return e.claims, e.scopes, true
}

func (v *verifiedTokens) put(token string, c *accessClaims, scopes Scopes, kid string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerifiedTokens {
		for k, e := range v.m {
			if !now.Before(e.claims.Expiry.Time()) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerifiedTokens {
			clear(v.m)
		}
	}
	v.m[token] = verifiedToken{claims: c, scopes: scopes, kid: kid}
}
