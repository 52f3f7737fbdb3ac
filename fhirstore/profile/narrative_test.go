package profile

import "testing"

var narrativeSeeds = []string{
	`<div xmlns="http://www.w3.org/1999/xhtml">Fallsensor utløst.</div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml">   </div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml"><p> </p><img src="a.png"/></div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml"><!-- note --></div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml"><![CDATA[ x ]]></div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml">&amp;</div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;</div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml"><p>a</div>`,
	`<div xmlns="http://www.w3.org/1999/xhtml"><br></div>`,
	`<div></div><div>x</div>`,
	`<div><?pi x?></div>`,
	`<div>`,
	`text`,
}

// The txt-2 answer a well-formedness check leaves behind is the one the
// lenient reader gives: for well-formed and malformed narratives alike.
func TestNarrativeContent_AgreesWithTheLenientReader(t *testing.T) {
	for _, s := range narrativeSeeds {
		checkNarrativeContent(t, s)
	}
}

func FuzzNarrativeContent(f *testing.F) {
	for _, s := range narrativeSeeds {
		f.Add(s)
	}
	f.Fuzz(checkNarrativeContent)
}

func checkNarrativeContent(t *testing.T, s string) {
	r := newRun(Core(), 0)
	defer r.release()
	r.root("Narrative")
	r.xhtml(s, 0)
	if got, want := r.narrativeContent(s), narrativeHasContent(s); got != want {
		t.Errorf("%q: content %v, want %v (known from the check: %v)", s, got, want, r.divKnown)
	}
}
