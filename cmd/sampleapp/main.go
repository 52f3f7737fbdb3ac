// Command sampleapp is a small SMART on FHIR app, the example the API
// guides walk through: it discovers the sandbox's authorization server,
// runs a standalone launch with PKCE as the public demo client, verifies
// the OpenID Connect id_token, and lists the chosen patient's vital signs.
//
//	sampleapp [--fhir http://127.0.0.1:8080/fhir] [--addr 127.0.0.1:8765] [--client-id sandbox-demo]
//
// Open the printed URL in a browser. It keeps its one session in memory
// and is not a template for production apps (no persistent sessions, no
// token storage, no refresh).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sampleapp:", err)
		os.Exit(2)
	}
}

// run serves the app until ctx ends; ready, when not nil, receives the URL
// to open.
func run(ctx context.Context, args []string, stdout io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("sampleapp", flag.ContinueOnError)
	fhirBase := fs.String("fhir", "http://127.0.0.1:8080/fhir", "FHIR base of the sandbox (the `iss` of a launch)")
	addr := fs.String("addr", "127.0.0.1:8765", "loopback address the app listens on; its /callback is the redirect URI")
	clientID := fs.String("client-id", "sandbox-demo", "client_id of a public app registered with redirect URI http://127.0.0.1/callback")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	app, err := newApp(ctx, Config{FHIRBase: *fhirBase, ClientID: *clientID, RedirectURL: url + "/callback"})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "open %s/ in a browser to launch against %s\n", url, *fhirBase)
	if ready != nil {
		ready <- url
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
