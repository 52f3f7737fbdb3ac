package smart

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// render writes a page; template errors are logged, never shown.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if err := s.pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.ErrorContext(r.Context(), "rendering page failed", "page", name, "err", err)
	}
}

// renderError shows an error page for an authorize error that must not be
// redirected (unknown client, unregistered redirect_uri).
func (s *Server) renderError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	status := e.Status
	if status == http.StatusUnauthorized {
		status = http.StatusBadRequest // no challenge to answer on a browser page
	}
	w.WriteHeader(status)
	_ = s.pages.ExecuteTemplate(w, "error", e)
}

// loginUser is one choice on the simulated login page.
type loginUser struct{ Ref, Label string }

// login shows the simulated login page (GET) and records the chosen user
// (POST).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	sess, err := s.loadSession(r)
	if err != nil {
		s.renderError(w, asError(err))
		return
	}
	ctx := WithSandbox(r.Context(), sess.Sandbox)
	users, err := s.loginUsers(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "listing users failed", "err", err)
		s.redirectError(w, r, sess, ErrServerError.describe("listing users failed"))
		return
	}
	if r.Method == http.MethodGet {
		s.render(w, r, http.StatusOK, "login", map[string]any{
			"Session": sess.ID, "ClientName": s.clientName(r, sess), "Users": users,
		})
		return
	}
	user := r.PostFormValue("user")
	known := user == "" && len(users) == 0
	for _, u := range users {
		known = known || u.Ref == user
	}
	if !known {
		s.renderError(w, ErrInvalidRequest.describe("unknown user"))
		return
	}
	sess.FHIRUser, sess.LoggedIn = user, true
	if id, ok := strings.CutPrefix(user, "Patient/"); ok && sess.Patient == "" && sess.needsPatient() {
		sess.Patient = id // a patient signing in is the patient in context
	}
	s.advance(w, r, sess)
}

func (s *Server) loginUsers(ctx context.Context) ([]loginUser, error) {
	var users []loginUser
	if pl, ok := s.patients.(PractitionerLister); ok {
		pracs, err := pl.ListPractitioners(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range pracs {
			users = append(users, loginUser{Ref: "Practitioner/" + p.ID, Label: p.Name + " (practitioner)"})
		}
	}
	if s.patients != nil {
		pats, err := s.patients.ListPatients(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range pats {
			users = append(users, loginUser{Ref: "Patient/" + p.ID, Label: p.Name + " (patient)"})
		}
	}
	return users, nil
}

// selectPatient shows the standalone-launch patient picker (GET) and
// records the chosen patient (POST).
func (s *Server) selectPatient(w http.ResponseWriter, r *http.Request) {
	sess, err := s.loadSession(r)
	if err != nil {
		s.renderError(w, asError(err))
		return
	}
	ctx := WithSandbox(r.Context(), sess.Sandbox)
	var patients []PatientSummary
	if s.patients != nil {
		if patients, err = s.patients.ListPatients(ctx); err != nil {
			s.log.ErrorContext(ctx, "listing patients failed", "err", err)
			s.redirectError(w, r, sess, ErrServerError.describe("listing patients failed"))
			return
		}
	}
	if r.Method == http.MethodGet {
		s.render(w, r, http.StatusOK, "patients", map[string]any{"Session": sess.ID, "Patients": patients})
		return
	}
	id := r.PostFormValue("patient")
	for _, p := range patients {
		if p.ID == id && id != "" {
			sess.Patient = id
			s.advance(w, r, sess)
			return
		}
	}
	s.renderError(w, ErrInvalidRequest.describe("unknown patient"))
}

// selectEncounter shows the chosen patient's encounters (GET) and records
// the choice (POST); an empty choice continues without an encounter.
func (s *Server) selectEncounter(w http.ResponseWriter, r *http.Request) {
	sess, err := s.loadSession(r)
	if err != nil {
		s.renderError(w, asError(err))
		return
	}
	el, _ := s.patients.(EncounterLister)
	if el == nil || sess.Patient == "" {
		s.renderError(w, ErrInvalidRequest.describe("no encounter to select"))
		return
	}
	ctx := WithSandbox(r.Context(), sess.Sandbox)
	encounters, err := el.ListEncounters(ctx, sess.Patient)
	if err != nil {
		s.log.ErrorContext(ctx, "listing encounters failed", "err", err)
		s.redirectError(w, r, sess, ErrServerError.describe("listing encounters failed"))
		return
	}
	if r.Method == http.MethodGet {
		s.render(w, r, http.StatusOK, "encounters", map[string]any{
			"Session": sess.ID, "Patient": sess.Patient, "Encounters": encounters,
		})
		return
	}
	id := r.PostFormValue("encounter")
	known := id == ""
	for _, e := range encounters {
		known = known || e.ID == id
	}
	if !known {
		s.renderError(w, ErrInvalidRequest.describe("unknown encounter"))
		return
	}
	sess.Encounter, sess.EncounterAsked = id, true
	s.advance(w, r, sess)
}

// consent shows the requested scopes (GET) and records the decision
// (POST); a denial goes back to the client as access_denied.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	sess, err := s.loadSession(r)
	if err != nil {
		s.renderError(w, asError(err))
		return
	}
	if r.Method == http.MethodGet {
		s.render(w, r, http.StatusOK, "consent", map[string]any{
			"Session": sess.ID, "ClientName": s.clientName(r, sess), "Patient": sess.Patient,
			"User": sess.FHIRUser, "Scopes": strings.Fields(sess.Scope),
		})
		return
	}
	if r.PostFormValue("decision") != "allow" {
		s.redirectError(w, r, sess, ErrAccessDenied.describe("the user denied access"))
		return
	}
	sess.Consented = true
	s.advance(w, r, sess)
}

func (s *Server) clientName(r *http.Request, sess *authSession) string {
	if c, err := s.clients.Client(r.Context(), sess.ClientID); err == nil && c.Name != "" {
		return c.Name
	}
	return sess.ClientID
}
