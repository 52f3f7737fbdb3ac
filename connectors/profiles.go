package connectors

// ProfileConnector is a CheckConnector that groups its checks into
// profiles of its own, for the parties it serves (a sender and a reader,
// say), instead of the one profile of all its checks the conformance
// engine makes otherwise.
type ProfileConnector interface {
	CheckConnector
	// Profiles are the connector's profiles. Their ids start with the
	// connector's id and a hyphen; their checks are the connector's.
	Profiles() []CheckProfile
}

// CheckIDs are the ids of checks, in order: a profile of all of them.
func CheckIDs(checks []Check) []string {
	ids := make([]string, len(checks))
	for i, ch := range checks {
		ids[i] = ch.ID
	}
	return ids
}

// CheckProfile is a named set of a connector's checks.
type CheckProfile struct {
	ID, Title, Description string
	// Checks are ids of the connector's checks, in report order.
	Checks []string
}
