package vkp

// Vouched reports whether Deliver vouches for s's transaction
// (Submission.store).
func Vouched(s *Submission) bool { return s.r4 && s.uriFullURLs() }

// CheckR4 is Submission.checkR4.
func CheckR4(s *Submission) error { return s.checkR4() }
