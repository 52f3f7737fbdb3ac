package vkp

import "testing"

// TestHasCodeIssue_AgreesWithTheWalk: CodeIssues answers nil at once when
// hasCodeIssue finds nothing, so the two must agree on every resource.
func TestHasCodeIssue_AgreesWithTheWalk(t *testing.T) {
	cases := append(alarmResources(t),
		`{"code":{"coding":[{"system":"`+SystemAlertCode+`","code":"4.99"}]}}`,
		`{"code":{"coding":[{"system":"`+SystemAlertCode+`","code":"4.1"}]}}`,
		`{"a":[[{"system":"`+SystemSeverityLevel+`","code":"nope"}]]}`,
		`{"a":[[{"system":"`+severityValueSet+`","code":"nope"}]]}`,
		`{"system":"`+SystemCompositionEvent+`","code":"2"}`,
		`{"system":"`+SystemCompositionEvent+`","code":2}`,
		`{"system":"http://example.org","code":"x"}`,
		`[{"system":"`+SystemCompositionEvent+`","code":"2"}]`,
		`"x"`, `null`, `{}`,
	)
	found := 0
	for _, c := range cases {
		v := decodeStd([]byte(c))
		walked := false
		walkCodings(v, "X", func(system, code, _ string) {
			if set := codeSets()[system]; set != nil && !set[code] {
				walked = true
			}
		})
		if walked {
			found++
		}
		if got := hasCodeIssue(v, codeSets()); got != walked {
			t.Errorf("hasCodeIssue(%.80s) = %v, the walk found %v", c, got, walked)
		}
		if got := len(CodeIssues(v, "X")) > 0; got != walked {
			t.Errorf("CodeIssues(%.80s) found issues %v, the walk %v", c, got, walked)
		}
	}
	if found != 5 {
		t.Errorf("the walk found issues in %d cases, want 5", found)
	}
}

// BenchmarkCodeIssues: the alarm's resources, whose codes are all in
// their systems, judged by CodeIssues and by the walk with paths alone.
func BenchmarkCodeIssues(b *testing.B) {
	var resources []any
	for _, r := range alarmResources(b) {
		resources = append(resources, decode([]byte(r)))
	}
	b.Run("CodeIssues", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range resources {
				if CodeIssues(v, "X") != nil {
					b.Fatal("issues")
				}
			}
		}
	})
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, v := range resources {
				walkCodings(v, "X", func(system, code, _ string) { _ = codeSets()[system][code] })
			}
		}
	})
}
