package access

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// Request is what a decision reads of one FHIR request: routed and parsed
// once, before anything runs.
type Request struct {
	// Sandbox is the sandbox the request addresses.
	Sandbox string
	// Base is the server's FHIR base: a resource is in a patient's
	// compartment by a reference relative or under it, not by another
	// server's URL.
	Base string
	// Route is the routed interaction.
	Route *interaction.Request
	// Search is the parsed search of a search, or the parsed criteria of
	// a conditional create, update or delete; nil when there are none, or
	// when they do not parse (the API refuses them then, reading nothing).
	Search *search.Query
	// Conditional says a create, update or delete has criteria
	// (If-None-Exist, or a query in a Bundle entry's url), whether or not
	// they parsed.
	Conditional bool
	// Entry says the request is an entry of a batch or transaction, which
	// is judged before any entry runs.
	Entry bool
	// References are the conditional references (Type?criteria) in an
	// entry's resource, which the server resolves by searching.
	References []Reference
}

// Reference is a conditional reference: the type it searches and its
// parsed criteria (nil when they do not parse).
type Reference struct {
	Ref      string
	Type     string
	Criteria *search.Query
}

// Effect is what a decision lets a request do.
type Effect int

// The effects of a decision; the zero value refuses.
const (
	Refuse Effect = iota
	Allow
	// AllowNarrowed lets the request run inside Decision.Confinement, which
	// the store applies within its queries.
	AllowNarrowed
)

// String names the effect.
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case AllowNarrowed:
		return "allow narrowed"
	}
	return "refuse"
}

// Check is what a decision leaves to be checked against stored data or
// the request body, after the decision and before the API serves the
// request.
type Check uint8

// The checks a decision may ask for.
const (
	// CheckVisible: the resource the path names must be visible under the
	// confinement (a store query, in the compartment and matching the
	// constraints); one that does not exist is left to the API.
	CheckVisible Check = 1 << iota
	// CheckVersion: the version a vread names must be visible under the
	// confinement (the store judges it as it was); one that does not
	// exist is left to the API.
	CheckVersion
	// CheckHistory: the history answers the versions visible under the
	// confinement (the store judges each as it was); the history of a
	// resource none of whose versions is visible is refused, as a read
	// of it is.
	CheckHistory
	// CheckEntries: each entry of a batch or transaction, decided as a
	// request of its own (Request.Entry) before any entry runs.
	CheckEntries
	// CheckEverything: $everything of the token's own patient, whose
	// answer leaves out what another patient's compartment could hold
	// (the API reads the confinement's compartment).
	CheckEverything
)

// Decision is the guard's answer to one request.
type Decision struct {
	Effect Effect
	// Confinement is what the store applies inside every query of the
	// request when Effect is AllowNarrowed: the patient's compartment, the
	// scopes' constraints, and the types the token may not read.
	Confinement *search.Confinement
	// Checks are what remains to check outside the decision.
	Checks Check
	// Err says why the request is refused: a *smart.Error for a token that
	// is not valid here (401), else an *outcome.Error (403 forbidden).
	Err error
	// Permission is the token's permission of the interaction on the
	// request's type, which the checks apply.
	Permission smart.Permission
}

// Has reports whether the decision asks for check c.
func (d Decision) Has(c Check) bool { return d.Checks&c != 0 }

// ErrOtherSandbox refuses a valid token of another sandbox as a token
// that is not valid here (RFC 6750 §3.1 invalid_token), like one for
// another audience.
var ErrOtherSandbox = &smart.Error{Code: smart.ErrInvalidToken.Code, Status: http.StatusUnauthorized,
	Description: "token was issued for another sandbox"}

// refuse is a 403 decision saying why.
func refuse(format string, args ...any) Decision {
	return Decision{Err: outcome.New(outcome.Denied, outcome.Forbidden, format, args...)}
}

func refuseErr(err error) Decision { return refuse("%s", err.Error()) }

// narrowed is the decision to run inside what b confines, if anything.
func narrowed(b *confinement, checks Check) Decision {
	if c := b.result(); c != nil {
		return Decision{Effect: AllowNarrowed, Confinement: c, Checks: checks}
	}
	return Decision{Effect: Allow, Checks: checks}
}

// Decide decides a request under a token's grant: whether it may run at
// all, and if so inside which confinement and with which checks left. It
// reads no data and no body; what it leaves to check, Checks says.
func Decide(tok *smart.Grant, r *Request) Decision {
	if sandboxOr(tok.Sandbox) != sandboxOr(r.Sandbox) {
		return Decision{Err: ErrOtherSandbox}
	}
	d := decide(&grant{Grant: tok}, r)
	if d.Confinement != nil && d.Confinement.Compartment.Type != "" && !d.Has(CheckEverything) {
		// $everything is the compartment as the specification defines it,
		// which its own query reads.
		d.Confinement.Base = r.Base
	}
	return d
}

func sandboxOr(s string) string {
	if s == "" {
		return fhirstore.DefaultSandbox
	}
	return s
}

func decide(g *grant, r *Request) Decision {
	if r.Entry {
		return g.decideEntry(r)
	}
	in := r.Route
	switch in.Kind {
	case interaction.Capabilities:
		return Decision{Effect: Allow}
	case interaction.Read, interaction.VRead, interaction.HistoryInstance:
		// A read is judged by the store as the API reads it, under the
		// confinement (fhirstore.ErrNotVisible, a 403): one statement more
		// than the read, none before it.
		check := map[interaction.Kind]Check{interaction.Read: 0, interaction.VRead: CheckVersion,
			interaction.HistoryInstance: CheckHistory}[in.Kind]
		return g.one(in.Type, smart.Read, check)
	case interaction.SearchType, interaction.SearchCompartment, interaction.SearchSystem:
		return g.decideSearch(r)
	case interaction.HistoryType:
		if in.Type == "" { // metadata/_history, which the API serves as the system's
			return g.decideSystemHistory()
		}
		return g.one(in.Type, smart.Search, CheckHistory)
	case interaction.HistorySystem:
		return g.decideSystemHistory()
	case interaction.Create, interaction.Update, interaction.ConditionalUpdate, interaction.Delete, interaction.ConditionalDelete:
		return g.decideWrite(r)
	case interaction.Patch:
		p, err := g.permit(in.Type, smart.Update)
		if err != nil {
			return refuse("the token's scopes do not permit update on %s", in.Type)
		}
		if confined(p) {
			return refuse("PATCH is not available to patient-level or constrained scopes: the patched %s could leave what the token may touch; use PUT", in.Type)
		}
		return Decision{Effect: Allow}
	case interaction.Operation:
		return g.decideOperation(in)
	case interaction.Bundle:
		return Decision{Effect: Allow, Checks: CheckEntries}
	}
	return refuse("%s %s is not an interaction this server's access control covers", in.Method, strings.Join(in.Segments, "/"))
}

// one decides an interaction on one resource type: permitted, and where
// the permission confines it, narrowed to its confinement with the checks
// given; unconfined, allowed as it is.
func (g *grant) one(typ string, si smart.Interaction, checks Check) Decision {
	p, err := g.permit(typ, si)
	if err != nil {
		return refuse("the token's scopes do not permit %s on %s", interactionName(si), typ)
	}
	if !confined(p) {
		return Decision{Effect: Allow, Permission: p}
	}
	var b confinement
	b.add(typ, p)
	d := narrowed(&b, checks)
	d.Permission = p
	return d
}

// decideSystemHistory decides the history of the whole sandbox: the
// types the token may not read are never seen in it, and it is refused to
// patient-level and constrained scopes on any type. It interleaves every
// patient's record, so that such a token had it refused before whenever
// another patient's data had ever been written; the history of a type or
// of a resource is the one it may have, narrowed.
func (g *grant) decideSystemHistory() Decision {
	var b confinement
	for _, typ := range searchparam.ResourceTypes() {
		p, err := g.permit(typ, smart.Read)
		switch {
		case err != nil:
			b.exclude(typ)
		case confined(p):
			return refuse("the history of the whole sandbox is not available to patient-level or constrained scopes; ask the history of a type")
		}
	}
	return narrowed(&b, 0)
}

// decideSearch decides a search: the searched type needs search
// permission (a system search sees only the types the token may search),
// chains, _has and includes read as searchReads says, and at patient level
// a compartment search must be of the patient in context. Everything is
// confined in the query: matches, counts, chains, _has and what includes
// add.
func (g *grant) decideSearch(r *Request) Decision {
	in := r.Route
	q := r.Search
	if q == nil {
		q = &search.Query{}
		if in.Type != "" {
			q.Types = []string{in.Type}
		}
	}
	var b confinement
	if in.Kind != interaction.SearchSystem {
		p, err := g.permit(in.Type, smart.Search)
		if err != nil {
			return refuse("the token's scopes do not permit search on %s", in.Type)
		}
		if in.Kind == interaction.SearchCompartment && p.Level == smart.LevelPatient && in.Compartment != p.Patient {
			return refuse("the compartment of Patient/%s is not the patient in context (Patient/%s)", in.Compartment, p.Patient)
		}
		b.add(in.Type, p)
	}
	if err := g.searchReads(q, &b); err != nil {
		return refuseErr(err)
	}
	return narrowed(&b, 0)
}

// decideWrite decides a create, update or delete: permitted; criteria,
// when conditional, read only what the token may search; and when the
// permission confines it, not conditional (its search would be resolved
// over the whole sandbox), narrowed to the confinement, the stored
// resource visible under it (update, delete) and the new body inside it
// (create, update).
func (g *grant) decideWrite(r *Request) Decision {
	in := r.Route
	// What a create or update writes is judged by the engine, inside its
	// transaction, under the confinement (interaction: writes under a
	// confinement): the written resource must be visible under it.
	si, verb, checks := smart.Create, "create", Check(0)
	switch in.Kind {
	case interaction.Update, interaction.ConditionalUpdate:
		si, verb, checks = smart.Update, "update", CheckVisible
	case interaction.Delete, interaction.ConditionalDelete:
		si, verb, checks = smart.Delete, "delete", CheckVisible
	}
	conditional := r.Conditional || in.Kind == interaction.ConditionalUpdate || in.Kind == interaction.ConditionalDelete
	p, err := g.permit(in.Type, si)
	if err != nil {
		return refuse("the token's scopes do not permit %s on %s", verb, in.Type)
	}
	if conditional && r.Search != nil {
		if err := g.searchReads(r.Search, &confinement{}); err != nil {
			return refuseErr(err)
		}
	}
	if !confined(p) {
		return Decision{Effect: Allow, Permission: p}
	}
	if conditional {
		return refuse("conditional %s is not available to patient-level or constrained scopes: its search is not confined", verb)
	}
	return g.one(in.Type, si, checks)
}

// decideOperation decides $operations. Bulk export ($export and its status
// and files) reads every type, so it needs read on all types at user or
// system level. $validate answers with an OperationOutcome only, so any
// scope that lets the client write or read the type will do. Other
// operations need read (and, unless GET, update) on the type or every
// type. Patient-level and constrained scopes get no operation whose answer
// carries resources, since it cannot be confined yet; $everything, whose
// answer is one patient's record, is the exception for the token's own
// patient.
func (g *grant) decideOperation(in *interaction.Request) Decision {
	typ, op := in.Type, in.Operation
	ins := []smart.Interaction{smart.Read}
	switch {
	case op == "$validate" && typ != "":
		for _, si := range []smart.Interaction{smart.Create, smart.Update, smart.Read} {
			if _, err := g.permit(typ, si); err == nil {
				return Decision{Effect: Allow}
			}
		}
		return refuse("the token's scopes do not permit create, update or read on %s, which $validate needs", typ)
	case op == "$everything" && typ == "Patient":
		// The answer is Patient/id's record: its compartment and what that
		// references. A patient-level token may have it for its own
		// patient, given read on every type and no constraints; confined
		// to the compartment, $everything leaves out referenced resources
		// that could lie in another patient's compartment, and keeps those
		// no compartment holds (the patient's Device, GP, organisation),
		// which are part of the record.
		p, err := g.permit("*", smart.Read)
		if err != nil {
			return refuse("$everything needs read on every type")
		}
		if !confined(p) {
			return Decision{Effect: Allow}
		}
		if p.Patient != in.ID || len(p.Constraints) > 0 {
			return refuse("a patient-level or constrained token may ask $everything of its own patient only, without constraints")
		}
		return Decision{Effect: AllowNarrowed, Checks: CheckEverything,
			Confinement: &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: p.Patient}}}
	case strings.HasPrefix(op, "$export"):
		typ = "*"
	case in.Method != http.MethodGet && in.Method != http.MethodHead:
		ins = append(ins, smart.Update)
	}
	if typ == "" {
		typ = "*"
	}
	for _, si := range ins {
		p, err := g.permit(typ, si)
		if err != nil {
			return refuse("the token's scopes do not permit %s on %s, which %s needs", interactionName(si), typ, op)
		}
		if confined(p) {
			return refuse("%s is not available to patient-level or constrained scopes: its answer cannot be confined yet", op)
		}
	}
	return Decision{Effect: Allow}
}

// errEntry refuses a Bundle entry the guard does not judge.
var errEntry = errors.New("is not an interaction this server's access control covers in a bundle")

// decideEntry decides one entry of a batch or transaction as the request
// it is, before any entry runs: reads, searches and writes only; at
// patient level or constrained, no search and nothing conditional, whose
// searches would not be confined; and conditional references only of
// types the token may search unconfined.
func (g *grant) decideEntry(r *Request) Decision {
	in := r.Route
	var si smart.Interaction
	var checks Check
	switch in.Kind {
	case interaction.Read:
		si, checks = smart.Read, CheckVisible
	case interaction.VRead:
		si, checks = smart.Read, CheckVersion
	case interaction.SearchType, interaction.SearchCompartment:
		si = smart.Search
	case interaction.Create:
		si = smart.Create
	case interaction.Update, interaction.ConditionalUpdate:
		si, checks = smart.Update, CheckVisible
	case interaction.Delete, interaction.ConditionalDelete:
		si, checks = smart.Delete, CheckVisible
	default:
		return refuse("%s %s %s", in.Method, strings.Join(in.Segments, "/"), errEntry)
	}
	p, err := g.permit(in.Type, si)
	if err != nil {
		return refuse("the token's scopes do not permit %s on %s", interactionName(si), in.Type)
	}
	if r.Search != nil {
		// What the search or the condition reads through chains and _has.
		if err := g.searchReads(r.Search, &confinement{}); err != nil {
			return refuseErr(err)
		}
	}
	for _, ref := range r.References {
		if d := g.reference(ref); d.Effect == Refuse {
			return d
		}
	}
	if !confined(p) {
		return Decision{Effect: Allow, Permission: p}
	}
	switch {
	case r.Conditional:
		return refuse("conditional interactions in a bundle are not available to patient-level or constrained scopes")
	case in.Kind.IsSearch():
		return refuse("searches in a bundle are not available to patient-level or constrained scopes")
	}
	return g.one(in.Type, si, checks)
}

// reference decides a conditional reference (Type?criteria), which the
// server resolves by searching over the whole sandbox: the token must be
// allowed to search its type unconfined, and its criteria read only what
// it may search. Otherwise whether the entry succeeds would tell what
// another patient's record holds.
func (g *grant) reference(ref Reference) Decision {
	p, err := g.permit(ref.Type, smart.Search)
	switch {
	case err != nil:
		return refuse("the conditional reference %s needs search on %s, which the token's scopes do not permit", ref.Ref, ref.Type)
	case confined(p):
		return refuse("conditional references (%s) are not available to patient-level or constrained scopes on %s", ref.Ref, ref.Type)
	}
	if ref.Criteria != nil {
		if err := g.searchReads(ref.Criteria, &confinement{}); err != nil {
			return refuseErr(err)
		}
	}
	return Decision{Effect: Allow}
}

// describe says why a resource is not visible under p, for a refusal.
func describe(typ, id string, p smart.Permission) string {
	ref := typ + "/" + id
	if id == "" {
		ref = "the " + typ
	}
	switch {
	case p.Level == smart.LevelPatient && len(p.Constraints) > 0:
		return fmt.Sprintf("%s is not in the compartment of Patient/%s, the patient in context, or does not match the constraints of the token's %s scope (%s)",
			ref, p.Patient, typ, constraintList(p.Constraints))
	case p.Level == smart.LevelPatient:
		return fmt.Sprintf("%s is not in the compartment of Patient/%s, the patient in context", ref, p.Patient)
	}
	return fmt.Sprintf("%s does not match the constraints of the token's %s scope (%s)", ref, typ, constraintList(p.Constraints))
}
