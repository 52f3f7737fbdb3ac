package interaction_test

import (
	"context"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/profile"
)

// BenchmarkCreate_DeclaredProfile is the cost enforcement adds to a
// create: an Observation declaring the core heart-rate profile, written
// into a SQLite store by a sandbox that does not enforce profiles and by
// one that enforces declared profiles (definitions compiled once, before
// the timer).
func BenchmarkCreate_DeclaredProfile(b *testing.B) {
	body := []byte(heartRate("", "/min", heartRateProfile))
	for _, bc := range []struct {
		name   string
		policy interaction.Enforcement
	}{
		{"off", interaction.Enforcement{}},
		{"declared", interaction.Enforcement{Declared: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixtureWith(b, interaction.Config{BaseURL: base, Enforcement: func(context.Context, fhirstore.Sandbox) (interaction.Enforcement, error) {
				return bc.policy, nil
			}})
			if _, err := f.eng.Create(f.ctx, sb, body); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := f.eng.Create(f.ctx, sb, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The validation alone, which is what enforcement adds.
	b.Run("validation", func(b *testing.B) {
		opts := profile.Options{Profiles: []string{heartRateProfile}, IgnoreMetaProfile: true}
		if issues := profile.Core().Validate(body, opts); profile.HasErrors(issues) {
			b.Fatal(issues)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			profile.Core().Validate(body, opts)
		}
	})
}
