package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/scalesocket/scalesocket-go/internal/testcert"
)

// dialTLS connects over wss, trusting only roots, and returns the
// connection and the serial number of the certificate the server showed.
func dialTLS(t *testing.T, addr string, roots *x509.CertPool) (*websocket.Conn, int64) {
	t.Helper()
	var serial int64
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots,
		VerifyConnection: func(cs tls.ConnectionState) error {
			serial = cs.PeerCertificates[0].SerialNumber.Int64()
			return nil
		},
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss://"+addr+"/secure", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("dial wss: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, serial
}

// TestTLSAndCertificateReload serves wss, then reloads a new certificate
// without dropping the open connection, and keeps the old one when the new
// files are broken.
func TestTLSAndCertificateReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	roots := x509.NewCertPool()
	roots.AddCert(testcert.Write(t, certFile, keyFile, 1))
	s := startServer(t, "--tlscert", certFile, "--tlskey", keyFile, "cat")

	first, serial := dialTLS(t, s.addr, roots)
	if serial != 1 {
		t.Fatalf("certificate serial %d, want 1", serial)
	}
	c := &testClient{t: t, c: first}
	c.send("over tls")
	c.expect("over tls")

	roots.AddCert(testcert.Write(t, certFile, keyFile, 2))
	s.srv.ReloadCertificate()
	if _, serial := dialTLS(t, s.addr, roots); serial != 2 {
		t.Fatalf("after reload, certificate serial %d, want 2", serial)
	}
	c.send("still open")
	c.expect("still open")

	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.srv.ReloadCertificate()
	if _, serial := dialTLS(t, s.addr, roots); serial != 2 {
		t.Fatalf("after a failed reload, certificate serial %d, want 2 still", serial)
	}
	if !strings.Contains(s.logs.String(), "old one stays in use") {
		t.Errorf("the failed reload is not logged")
	}

	// Plain HTTP on the TLS port is not served, and TLS 1.1 is refused.
	old := &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", s.addr, old); err == nil {
		conn.Close()
		t.Fatalf("a TLS 1.1 handshake succeeded")
	}
}
