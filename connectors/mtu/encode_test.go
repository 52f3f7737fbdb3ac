package mtu

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"hpsandbox/connectors"
)

// The transaction of every test message is what encoding/json makes of
// the same tree: read back (numbers as written), it marshals to the same
// bytes.
func TestBundle_SameBytesAsEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.hl7")
	for _, name := range files {
		msg, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var sent []byte
		c, err := Opener(Config{RegisterPatients: true})(connectors.Deps{Engine: &recordingEngine{sent: &sent}})
		if err != nil {
			t.Fatal(err)
		}
		c.(*Connector).Handle(context.Background(), "enc", msg)
		if sent == nil {
			t.Fatalf("%s: nothing sent", name)
		}
		d := json.NewDecoder(bytes.NewReader(sent))
		d.UseNumber()
		var back any
		if err := d.Decode(&back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, _ := json.Marshal(back)
		if !bytes.Equal(sent, want) {
			t.Errorf("%s:\ngot  %s\nwant %s", name, sent, want)
		}
	}
}
