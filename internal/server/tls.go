package server

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// certificate holds the server's TLS certificate and reloads it on demand
// (SIGHUP), so a renewed certificate is used without dropping connections.
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// load reads the certificate and key files. On error the certificate in use
// stays as it was.
func (c *certificate) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&cert)
	return nil
}

// config returns the TLS settings: the standard library's modern defaults,
// TLS 1.2 at least, HTTP/1.1 only (WebSocket upgrades need it), and the
// current certificate for each handshake.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}
