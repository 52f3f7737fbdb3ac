package tenant

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox/throttle"
	"hpsandbox/smart"
)

// Options configure a Service.
type Options struct {
	// Path is the registry file; empty keeps the registry in memory (tests).
	Path string
	// Registry, if not nil, is used instead of the SQLite file at Path:
	// another backend of the registry. The Service closes it.
	Registry Registry
	// Store holds the sandboxes' FHIR data; it must implement
	// fhirstore.Eraser for reset and delete.
	Store fhirstore.Store
	// Default describes the sandbox served at /fhir, which always exists
	// and belongs to no supplier; its data is seeded by `sandbox serve`.
	Default Sandbox
	// OnErase is told when a sandbox's data was erased (reset or delete),
	// so that what is kept beside it (the request log) goes too.
	OnErase func(ctx context.Context, sandbox string)
	// OnChange is told when a sandbox's settings changed or one of its
	// apps was registered or deleted, so that what remembers them (the
	// gateways' caches) forgets.
	OnChange func(ctx context.Context, sandbox string)
	// OnDelete is told when a sandbox was deleted, after OnErase.
	OnDelete func(ctx context.Context, sandbox string)
	// Logger receives structured logs; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// SignInLimits bound password guessing; nil means
	// DefaultSignInLimits.
	SignInLimits *SignInLimits
	// SignUpLimit bounds sign-ups per client address; nil means
	// DefaultSignUpLimit.
	SignUpLimit *throttle.Policy
	// SharedSignIns, when set, returns the shared store of failed
	// sign-ins per kind of key ("account:", "address:") and of sign-ups
	// per address ("signup:"), where the other gateways of the deployment
	// count theirs (throttle.Shared).
	SharedSignIns func(kind string) throttle.Shared
	// BcryptCost is the cost of the bcrypt hashes of passwords and app
	// secrets made from now on; 0 means bcrypt.DefaultCost. Tests lower it
	// to bcrypt.MinCost: a check costs what the stored hash says, so a
	// lower cost never weakens hashes already made.
	BcryptCost int
}

// Service is the registry with the rules and work around it. It is safe for
// concurrent use.
type Service struct {
	reg      Registry
	store    fhirstore.Store
	onErase  func(ctx context.Context, sandbox string)
	onChange func(ctx context.Context, sandbox string)
	onDel    func(ctx context.Context, sandbox string)
	log      *slog.Logger
	now      func() time.Time
	creds    *credentialCache
	signIns  signInLimiters
	signUps  *throttle.Limiter
	cost     int
	// dummyHash is checked for unknown usernames, at the service's cost,
	// so that they take as long as a wrong password.
	dummyHash func() []byte
	// busy holds the sandboxes being seeded or erased, so that two resets
	// of one sandbox do not interleave.
	busyMu sync.Mutex
	busy   map[string]bool
}

// Open opens the registry and makes sure the default sandbox is in it.
func Open(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("tenant: Options.Store is required")
	}
	reg := opts.Registry
	if reg == nil {
		r, err := OpenSQLiteRegistry(ctx, opts.Path)
		if err != nil {
			return nil, err
		}
		reg = r
	}
	s := &Service{reg: reg, store: opts.Store, onErase: opts.OnErase, onChange: opts.OnChange, onDel: opts.OnDelete, log: opts.Logger, now: opts.Now,
		busy: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.cost = opts.BcryptCost
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		reg.Close()
		return nil, fmt.Errorf("tenant: Options.BcryptCost %d: want %d to %d, or 0 for %d", opts.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost, bcrypt.DefaultCost)
	}
	s.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), s.cost)
		return h
	})
	// The registry keeps milliseconds: what is returned must equal what
	// is read back.
	clock := s.now
	s.now = func() time.Time { return clock().Truncate(time.Millisecond) }
	s.creds = newCredentialCache(s.now)
	limits := DefaultSignInLimits()
	if opts.SignInLimits != nil {
		limits = *opts.SignInLimits
	}
	s.signIns = newSignInLimiters(limits, s.now)
	signUps := DefaultSignUpLimit()
	if opts.SignUpLimit != nil {
		signUps = *opts.SignUpLimit
	}
	s.signUps = throttle.New(signUps, s.now, limits.MaxKeys)
	if opts.SharedSignIns != nil {
		// Gateways of one deployment count failed sign-ins together.
		s.signIns.accounts.Share(opts.SharedSignIns("account:"))
		s.signIns.addresses.Share(opts.SharedSignIns("address:"))
		// And sign-ups, so that spreading them over the gateways gains
		// nothing.
		s.signUps.Share(opts.SharedSignIns("signup:"))
	}
	def := opts.Default
	def.ID, def.Supplier = fhirstore.DefaultSandbox, ""
	if def.Name == "" {
		def.Name = "Default sandbox"
	}
	// The default sandbox's name, settings and seed are the server's
	// configuration, so they are written on every start.
	if err := s.writeDefault(ctx, def); err != nil {
		reg.Close()
		return nil, err
	}
	s.warnOfOpenRegistrations(ctx)
	return s, nil
}

// writeDefault creates the default sandbox def, or writes it over the
// stored one keeping its creation and reset times. Gateways sharing a
// registry may start at once: one creates it, the others find it there
// (ErrExists) and write over it.
func (s *Service) writeDefault(ctx context.Context, def Sandbox) error {
	for {
		old, err := s.reg.Sandbox(ctx, def.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			def.Created, def.ResetAt = s.now().UTC(), s.now().UTC()
			if err := s.reg.CreateSandbox(ctx, &def); !errors.Is(err, ErrExists) {
				return err
			}
		case err == nil:
			def.Created, def.ResetAt = old.Created, old.ResetAt
			return s.reg.UpdateSandbox(ctx, &def)
		default:
			return err
		}
	}
}

// warnOfOpenRegistrations logs the apps that registered themselves with
// more than an app without an initial access token may have now: before
// initial access tokens, anyone could register a backend service with
// system/*.cruds in a sandbox open to registration. They keep working;
// their sandbox's owner or an operator should look at them.
func (s *Service) warnOfOpenRegistrations(ctx context.Context) {
	sbs, err := s.reg.Sandboxes(ctx, "")
	if err != nil {
		s.log.Warn("listing sandboxes to check dynamically registered apps", "err", err)
		return
	}
	for _, sb := range sbs {
		apps, err := s.reg.Apps(ctx, sb.ID)
		if err != nil {
			s.log.Warn("listing apps to check dynamically registered apps", "sandbox", sb.ID, "err", err)
			return
		}
		for _, a := range apps {
			if a.Dynamic && a.RegistrationToken == "" && !anonymousMay(a) {
				s.log.Warn("an app registered itself with more than registration without an initial access token allows now; check that its sandbox's owner knows it",
					"sandbox", sb.ID, "client_id", a.ClientID, "type", a.Type, "scopes", a.Scopes, "registered", a.Created)
			}
		}
	}
}

// anonymousMay reports whether an app is one that could register without
// an initial access token in a sandbox allowing every read scope.
func anonymousMay(a *App) bool {
	scopes, err := smart.ParseScopes(a.Scopes)
	if err != nil || len(a.RedirectURIs) == 0 {
		return false
	}
	for _, sc := range scopes {
		if sc.Level == smart.LevelSystem || sc.Permits(smart.Create) || sc.Permits(smart.Update) || sc.Permits(smart.Delete) {
			return false
		}
	}
	return true
}

// Close closes the registry.
func (s *Service) Close() error { return s.reg.Close() }

// Sandbox returns the sandbox id, whoever asks: for the gateway, which
// routes by it. A nil error means it exists.
func (s *Service) Sandbox(ctx context.Context, id string) (*Sandbox, error) {
	return s.reg.Sandbox(ctx, id)
}

// SandboxFor returns the sandbox id if who may see it, ErrNotFound
// otherwise.
func (s *Service) SandboxFor(ctx context.Context, who *Account, id string) (*Sandbox, error) {
	sb, err := s.reg.Sandbox(ctx, id)
	if err != nil {
		return nil, err
	}
	if !who.CanSee(sb) {
		return nil, fmt.Errorf("%w: sandbox %q", ErrNotFound, id)
	}
	return sb, nil
}

// changeable returns the sandbox id if who may change it.
func (s *Service) changeable(ctx context.Context, who *Account, id string) (*Sandbox, error) {
	sb, err := s.SandboxFor(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if !who.CanChange(sb) {
		return nil, fmt.Errorf("%w: a %s cannot change sandbox %q", ErrForbidden, who.Role, id)
	}
	return sb, nil
}

// Sandboxes lists the sandboxes who may see, by id.
func (s *Service) Sandboxes(ctx context.Context, who *Account) ([]*Sandbox, error) {
	switch who.Role {
	case RoleOperator, RoleReviewer:
		return s.reg.Sandboxes(ctx, "")
	case RoleSupplier:
		if who.Supplier == "" {
			return nil, nil
		}
		return s.reg.Sandboxes(ctx, who.Supplier)
	}
	return nil, nil
}

// NewSandbox is what a create request may say; zero fields take defaults.
type NewSandbox struct {
	// ID becomes part of the FHIR base URL; empty makes one.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Supplier is set by an operator; a supplier's own sandboxes are
	// always its supplier's.
	Supplier     string    `json:"supplier,omitempty"`
	Settings     *Settings `json:"settings,omitempty"`
	SeedPatients *int      `json:"seed_patients,omitempty"`
	Seed         *int64    `json:"seed,omitempty"`
}

// DefaultSeedPatients is how many generated patients (besides the
// personas) a new sandbox starts with.
const DefaultSeedPatients = 20

// CreateSandbox registers a sandbox and seeds its data. If seeding fails
// nothing of the sandbox is kept.
func (s *Service) CreateSandbox(ctx context.Context, who *Account, req NewSandbox) (*Sandbox, error) {
	sb := &Sandbox{ID: req.ID, Name: strings.TrimSpace(req.Name), Supplier: req.Supplier,
		Settings: DefaultSettings(), SeedPatients: DefaultSeedPatients, Seed: 1}
	switch who.Role {
	case RoleSupplier:
		if who.Supplier == "" {
			return nil, fmt.Errorf("%w: account %s acts for no supplier", ErrForbidden, who.Username)
		}
		if req.Supplier != "" && req.Supplier != who.Supplier {
			return nil, invalid("supplier", "a supplier creates sandboxes for itself (%s) only", who.Supplier)
		}
		sb.Supplier = who.Supplier
	case RoleOperator:
		if sb.Supplier == "" {
			return nil, invalid("supplier", "name the supplier the sandbox is for")
		}
	default:
		return nil, fmt.Errorf("%w: a %s cannot create sandboxes", ErrForbidden, who.Role)
	}
	if sb.ID == "" {
		sb.ID = "sb-" + randomID(6)
	}
	if sb.Name == "" {
		sb.Name = sb.ID
	}
	if req.Settings != nil {
		sb.Settings = *req.Settings
	}
	if req.SeedPatients != nil {
		sb.SeedPatients = *req.SeedPatients
	}
	if req.Seed != nil {
		sb.Seed = *req.Seed
	}
	if sb.ID == fhirstore.DefaultSandbox {
		return nil, fmt.Errorf("%w: sandbox %q", ErrExists, sb.ID)
	}
	if err := sb.validate(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sb.Created, sb.ResetAt = now, now
	if !s.lock(sb.ID) {
		return nil, fmt.Errorf("%w: sandbox %q", ErrExists, sb.ID)
	}
	defer s.unlock(sb.ID)
	if err := s.reg.CreateSandbox(ctx, sb); err != nil {
		return nil, err
	}
	// Data of an earlier sandbox of the same id, had its delete failed
	// half-way, must not show through.
	if err := s.seed(ctx, sb, true); err != nil {
		_ = s.erase(context.WithoutCancel(ctx), sb.ID)
		_ = s.reg.DeleteSandbox(context.WithoutCancel(ctx), sb.ID)
		return nil, err
	}
	s.log.Info("sandbox created", "sandbox", sb.ID, "supplier", sb.Supplier, "by", who.Username)
	return sb, nil
}

// UpdateSandbox changes a sandbox's name and settings.
func (s *Service) UpdateSandbox(ctx context.Context, who *Account, id string, name *string, settings *Settings) (*Sandbox, error) {
	sb, err := s.changeable(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if name != nil {
		sb.Name = strings.TrimSpace(*name)
	}
	if settings != nil {
		kept := sb.Settings.Connectors
		sb.Settings = *settings
		if sb.Settings.Connectors == nil {
			sb.Settings.Connectors = kept
		}
	}
	if err := sb.validate(); err != nil {
		return nil, err
	}
	if err := s.reg.UpdateSandbox(ctx, sb); err != nil {
		return nil, err
	}
	s.changed(ctx, id)
	return sb, nil
}

// changed tells OnChange of a change to a sandbox's settings or apps.
func (s *Service) changed(ctx context.Context, id string) {
	if s.onChange != nil {
		s.onChange(ctx, id)
	}
}

// ResetSandbox returns a sandbox's data to its seeded state: everything
// written to it is erased and the seed population loaded again. Apps and
// settings stay.
func (s *Service) ResetSandbox(ctx context.Context, who *Account, id string) (*Sandbox, error) {
	sb, err := s.changeable(ctx, who, id)
	if err != nil {
		return nil, err
	}
	if !s.lock(id) {
		return nil, fmt.Errorf("%w: sandbox %q is being reset already", ErrBusy, id)
	}
	defer s.unlock(id)
	start := s.now()
	if err := s.seed(ctx, sb, true); err != nil {
		return nil, err
	}
	if err := s.restoreSealed(ctx, id); err != nil {
		return nil, err
	}
	sb.ResetAt = s.now().UTC()
	if err := s.reg.UpdateSandbox(ctx, sb); err != nil {
		return nil, err
	}
	s.log.Info("sandbox reset", "sandbox", id, "by", who.Username, "duration_ms", s.now().Sub(start).Milliseconds())
	return sb, nil
}

// ErrBusy: the sandbox is being reset or deleted by another request.
var ErrBusy = errors.New("tenant: busy")

// DeleteSandbox removes a sandbox, its apps and its data. The default
// sandbox cannot be deleted.
func (s *Service) DeleteSandbox(ctx context.Context, who *Account, id string) error {
	if _, err := s.changeable(ctx, who, id); err != nil {
		return err
	}
	if id == fhirstore.DefaultSandbox {
		return fmt.Errorf("%w: the default sandbox cannot be deleted (reset it instead)", ErrForbidden)
	}
	if !s.lock(id) {
		return fmt.Errorf("%w: sandbox %q is being reset", ErrBusy, id)
	}
	defer s.unlock(id)
	// The registry row goes first, so that the gateway stops routing to the
	// sandbox before its data is erased.
	if err := s.reg.DeleteSandbox(ctx, id); err != nil {
		return err
	}
	if err := s.erase(ctx, id); err != nil {
		return err
	}
	if s.onDel != nil {
		s.onDel(ctx, id)
	}
	s.log.Info("sandbox deleted", "sandbox", id, "by", who.Username)
	return nil
}

func (s *Service) lock(id string) bool {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	if s.busy[id] {
		return false
	}
	s.busy[id] = true
	return true
}

func (s *Service) unlock(id string) {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	delete(s.busy, id)
}

// erase removes a sandbox's FHIR data and tells OnErase.
func (s *Service) erase(ctx context.Context, id string) error {
	e, ok := s.store.(fhirstore.Eraser)
	if !ok {
		return errors.New("tenant: the FHIR store cannot erase a sandbox (it does not implement fhirstore.Eraser)")
	}
	if err := e.EraseSandbox(ctx, fhirstore.Sandbox(id)); err != nil {
		return err
	}
	if s.onErase != nil {
		s.onErase(ctx, id)
	}
	return nil
}

// seed erases (when asked) and loads the sandbox's seed population; a
// negative SeedPatients (the default sandbox told to seed nothing) loads
// nothing.
func (s *Service) seed(ctx context.Context, sb *Sandbox, erase bool) error {
	if sb.SeedPatients < 0 {
		if erase {
			return s.erase(ctx, sb.ID)
		}
		return nil
	}
	rs, err := fixtures.Generate(fixtures.Options{Seed: sb.Seed, Patients: sb.SeedPatients, Personas: true})
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	if _, ok := s.store.(fhirstore.Replacer); ok && erase {
		// One transaction: readers see the old data or the new, never an
		// empty sandbox.
		if err := fhirstore.Replace(ctx, s.store, fhirstore.Sandbox(sb.ID), bodies, fhirstore.LoadOptions{}); err != nil {
			return fmt.Errorf("tenant: seeding sandbox %s: %w", sb.ID, err)
		}
		if s.onErase != nil {
			s.onErase(ctx, sb.ID)
		}
		return nil
	}
	if erase {
		if err := s.erase(ctx, sb.ID); err != nil {
			return err
		}
	}
	if err := fhirstore.Load(ctx, s.store, fhirstore.Sandbox(sb.ID), bodies, fhirstore.LoadOptions{}); err != nil {
		return fmt.Errorf("tenant: seeding sandbox %s: %w", sb.ID, err)
	}
	return nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns n random bytes as lowercase base32.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return idEncoding.EncodeToString(b)
}
