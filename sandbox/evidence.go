package sandbox

import (
	"context"

	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

// oauthEvidence keeps the authorization server's facts of a request in
// the request log: it fills the request's Note, which ginlog.ShareNote put
// in the request's context and the log's middleware records. A request
// that names no registered client belongs to no sandbox and is not
// recorded.
type oauthEvidence struct{}

var _ smart.Observer = oauthEvidence{}

// Observe implements smart.Observer.
func (oauthEvidence) Observe(ctx context.Context, ev smart.Event) {
	n := requestlog.NoteFrom(ctx)
	if n == nil || !ev.Known {
		return
	}
	n.Sandbox, n.ClientID = sandboxOr(ev.Sandbox), ev.ClientID
	if ev.Granted != "" {
		n.Scopes = ev.Granted
	}
	facts := requestlog.OAuth(ev.Facts)
	n.OAuth = &facts
}
