package tenant

import (
	"context"
	"time"
)

// Registry is what the Service keeps its sandboxes, apps, initial access
// tokens and accounts in: SQLiteRegistry, or any backend that passes the
// suite in sandbox/tenant/tenanttest. It stores and finds; the rules
// (roles, validation, who may see what, seeding) are the Service's.
//
// Times are kept to the millisecond. Lookups of what is not there return
// an error that errors.Is ErrNotFound; creating what is there already, one
// that errors.Is ErrExists.
type Registry interface {
	SandboxStore
	AppStore
	RegistrationTokenStore
	AccountStore
	TestRequestStore
	// Close releases the backend; the Service calls it from its Close.
	Close() error
}

// SandboxStore stores sandboxes by id.
type SandboxStore interface {
	// CreateSandbox adds sb; ErrExists if its id is taken.
	CreateSandbox(ctx context.Context, sb *Sandbox) error
	// Sandbox returns the sandbox id; ErrNotFound if there is none.
	Sandbox(ctx context.Context, id string) (*Sandbox, error)
	// Sandboxes lists the sandboxes in order of id: all of them when
	// supplier is empty, else those of supplier.
	Sandboxes(ctx context.Context, supplier string) ([]*Sandbox, error)
	// UpdateSandbox writes the name, settings, seed and reset time of the
	// sandbox sb.ID; its supplier and creation time stay as they were.
	// ErrNotFound if there is none.
	UpdateSandbox(ctx context.Context, sb *Sandbox) error
	// DeleteSandbox removes the sandbox id with its apps and initial
	// access tokens, in one step; removing one that is not there is not an
	// error.
	DeleteSandbox(ctx context.Context, id string) error
}

// AppStore stores the apps of sandboxes by client id, which is unique
// across sandboxes.
type AppStore interface {
	// CreateApp adds a, with its SecretHash, to the existing sandbox
	// a.Sandbox; ErrExists if its client id is taken.
	CreateApp(ctx context.Context, a *App) error
	// App returns the app clientID, whichever sandbox it is of;
	// ErrNotFound if there is none.
	App(ctx context.Context, clientID string) (*App, error)
	// Apps lists the apps of sandbox in order of client id.
	Apps(ctx context.Context, sandbox string) ([]*App, error)
	// DeleteApp removes the app clientID if it is of sandbox; ErrNotFound
	// if there is no such app in that sandbox.
	DeleteApp(ctx context.Context, sandbox, clientID string) error
}

// RegistrationTokenStore stores the initial access tokens of sandboxes
// (RFC 7591), found by a hash of their secret; the token itself is never
// stored.
type RegistrationTokenStore interface {
	// CreateRegistrationToken adds t, unused, to the existing sandbox
	// t.Sandbox under hash; ErrExists if its id or hash is taken.
	CreateRegistrationToken(ctx context.Context, t *RegistrationToken, hash []byte) error
	// RegistrationTokenByHash returns the token with hash, with its uses
	// so far; ErrNotFound if there is none.
	RegistrationTokenByHash(ctx context.Context, hash []byte) (*RegistrationToken, error)
	// RegistrationTokens lists the tokens of sandbox as a non-nil slice,
	// the last created first: by order of creation, not by the Created
	// they carry, which two tokens may share.
	RegistrationTokens(ctx context.Context, sandbox string) ([]*RegistrationToken, error)
	// UseRegistrationToken counts one use of the token with hash if it is
	// of sandbox, expires after now and has uses left (MaxUses 0 is no
	// limit), else returns ErrBadRegistrationToken. The check and the
	// count are one atomic step: concurrent uses never exceed MaxUses.
	UseRegistrationToken(ctx context.Context, sandbox string, hash []byte, now time.Time) error
	// DeleteRegistrationToken removes the token id if it is of sandbox;
	// ErrNotFound if there is no such token in that sandbox.
	DeleteRegistrationToken(ctx context.Context, sandbox, id string) error
}

// AccountStore stores accounts by username, and by the OpenID Connect
// identity linked to them, which belongs to one account at most. Issuers
// that differ only by a trailing slash are the same issuer.
type AccountStore interface {
	// CreateAccount adds a with its PasswordHash; ErrExists if its
	// username, or its OpenID Connect identity, is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// Account returns the account username; ErrNotFound if there is none.
	Account(ctx context.Context, username string) (*Account, error)
	// AccountByOIDC returns the account linked to subject at issuer;
	// ErrNotFound if there is none.
	AccountByOIDC(ctx context.Context, issuer, subject string) (*Account, error)
	// Accounts lists every account in order of username.
	Accounts(ctx context.Context) ([]*Account, error)
	// UpdateAccount writes a over the account a.Username; ErrNotFound if
	// there is none, ErrExists if its OpenID Connect identity is another
	// account's.
	UpdateAccount(ctx context.Context, a *Account) error
	// DeleteAccount removes the account username; ErrNotFound if there is
	// none.
	DeleteAccount(ctx context.Context, username string) error
}

// TestRequestStore stores suppliers' test requests by id, and the sealed
// reports of the runs approved for them.
type TestRequestStore interface {
	// CreateTestRequest adds t; ErrExists if its id is taken.
	CreateTestRequest(ctx context.Context, t *TestRequest) error
	// TestRequest returns the request id; ErrNotFound if there is none.
	TestRequest(ctx context.Context, id string) (*TestRequest, error)
	// TestRequests lists the requests as a non-nil slice, the last
	// created first: all of them when supplier is empty, else those of
	// supplier.
	TestRequests(ctx context.Context, supplier string) ([]*TestRequest, error)
	// UpdateTestRequest writes t over the stored request if that is at
	// version t.Version-1, else returns ErrState (it changed meanwhile)
	// or ErrNotFound. With seal, it stores the sealed report in the same
	// step; ErrState if that run is sealed already.
	UpdateTestRequest(ctx context.Context, t *TestRequest, seal *SealedReport) error
	// SealedReport returns the sealed report of run in sandbox;
	// ErrNotFound if there is none.
	SealedReport(ctx context.Context, sandbox, run string) (*SealedReport, error)
	// SealedReports lists the sealed reports of sandbox, in the order
	// they were sealed, as a non-nil slice.
	SealedReports(ctx context.Context, sandbox string) ([]*SealedReport, error)
}
