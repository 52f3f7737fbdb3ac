package fhirstore

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a new server-assigned resource id: 128 random bits as 32
// hex digits, a valid FHIR id that no two writers will ever share.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
