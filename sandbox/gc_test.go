package sandbox

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestTuneGC_SetsTheTargetUnlessGOGCIsSetAndRestoresIt(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name    string
		percent int
		env     map[string]string
		want    int
	}{
		{"the default", DefaultGCPercent, nil, DefaultGCPercent},
		{"a setting of its own", 250, nil, 250},
		{"0 leaves the runtime's", 0, nil, 100},
		{"GOGC wins", 250, map[string]string{"GOGC": "150"}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			c.GCPercent = tc.percent
			restore := c.TuneGC(env(tc.env))
			got := debug.SetGCPercent(-1) // reads it, switching collection off for a moment
			debug.SetGCPercent(got)
			restore()
			if got != tc.want {
				t.Errorf("GC percent %d, want %d", got, tc.want)
			}
			now := debug.SetGCPercent(100)
			if now != 100 {
				t.Errorf("after restore: %d, want 100", now)
			}
		})
	}
}

func TestConfig_GCPercentFromEnvAndFlagIsValidated(t *testing.T) {
	c := Defaults()
	if c.GCPercent != DefaultGCPercent {
		t.Fatalf("default %d", c.GCPercent)
	}
	if err := c.LoadEnv(func(k string) string {
		if k == "HPS_GC_PERCENT" {
			return "300"
		}
		return ""
	}); err != nil || c.GCPercent != 300 {
		t.Fatalf("HPS_GC_PERCENT=300: %v, %d", err, c.GCPercent)
	}
	if err := c.LoadEnv(func(k string) string {
		if k == "HPS_GC_PERCENT" {
			return "lots"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "HPS_GC_PERCENT") {
		t.Errorf("HPS_GC_PERCENT=lots: %v", err)
	}
	for _, n := range []int{10, 5000} {
		c := Defaults()
		c.GCPercent = n
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--gc-percent") {
			t.Errorf("--gc-percent %d: %v, want refused", n, err)
		}
	}
}
