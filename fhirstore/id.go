package fhirstore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a new server-assigned resource id: 32 hex digits, a valid
// FHIR id that no two writers will ever share. The first 12 digits are the
// time in milliseconds and the other 20 are random (80 bits). Ids made
// later sort later, so the store's key index takes new ids at its end
// rather than all over it: a transaction's creates touch a few index pages
// instead of one page each.
func NewID() string {
	return newIDAt(time.Now())
}

func newIDAt(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
