// Package portal is the sandbox's developer portal: server-rendered pages
// where suppliers sign up, create and reset sandboxes, register SMART apps,
// read the synthetic patients' charts (problems, medications, allergies,
// encounters, devices, observations with trend plots, the persona's
// description and the FHIR and launch URLs to copy), launch their apps as
// an EHR would and read the request log of what their apps sent (with a
// timeline of an app's calls by status), and judge it against the
// conformance checks (a run's report read on the page with a chart of its
// results, or kept as HTML, JUnit XML or a FHIR TestReport); where
// reviewers read all of it; and where operators also manage the accounts
// and approve sign-ups. The pictures are SVG drawn on the server (package
// sandbox/portal/chart): the pages need no script but the small
// same-origin one that adds copy buttons, under a Content Security Policy
// that allows nothing inline. Suppliers file requests for
// test of their products and follow them; reviewers work the queue:
// accept a request into a supplier's sandbox, run its profiles, compare
// two runs and approve or reject one with a comment (package
// sandbox/signoff).
//
// It is a thin layer of HTTP over sandbox/tenant, which holds the rules of
// who may see and change what: a supplier asking for another supplier's
// sandbox gets the same 404 page as for one that does not exist. Sessions
// are HMAC-signed cookies (no server-side state, so several gateways share
// them with one key), every form carries a CSRF token bound to the session,
// and sign-in is by local account or, optionally, an external OpenID
// Connect provider.
//
// It is not the admin API (JSON for scripts and CI), not the authorization
// server apps sign users in with (package smart) and not the FHIR API; it
// only links to them.
package portal
