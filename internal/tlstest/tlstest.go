// Package tlstest makes a throwaway certificate authority for tests: a CA, a
// server certificate for the given host names (and 127.0.0.1/::1), and a
// client certificate for mutual TLS, all generated at test time with
// crypto/x509 and written as PEM files into the test's temporary directory.
// Nothing is ever reused between tests or checked in.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a generated certificate authority and the certificates it signed.
type CA struct {
	// Dir holds the PEM files below.
	Dir string
	// CAFile is the CA certificate (what kafka.tls.ca_file names).
	CAFile string
	// ServerCertFile and ServerKeyFile are the server's certificate and key.
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are a client certificate (CN
	// "zohosink-client") and its key, for mutual TLS.
	ClientCertFile, ClientKeyFile string

	// Pool holds the CA certificate.
	Pool *x509.CertPool
	// Server is the server's key pair.
	Server tls.Certificate

	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	validity time.Duration
}

// New generates a CA valid for one day, a server certificate for hosts (plus
// "localhost", 127.0.0.1 and ::1) and a client certificate, writes them into
// a new t.TempDir(), and returns them. Failures are fatal.
func New(t testing.TB, hosts ...string) *CA {
	t.Helper()
	ca, err := Generate(t.TempDir(), 24*time.Hour, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// Generate is New outside a test: it writes the CA (ca.pem), the server's
// certificate and key (server.pem, server-key.pem) and the client's
// (client.pem, client-key.pem) into dir, valid for validity.
func Generate(dir string, validity time.Duration, hosts ...string) (*CA, error) {
	ca := &CA{Dir: dir, Pool: x509.NewCertPool(), validity: validity}
	var err error
	if ca.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := ca.template("zohosink test CA")
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	ca.Pool.AddCert(ca.cert)
	if ca.CAFile, err = ca.write("ca.pem", "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if ca.ServerCertFile, ca.ServerKeyFile, err = ca.issue("server", append([]string{"localhost", "127.0.0.1", "::1"}, hosts...), x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if ca.Server, err = tls.LoadX509KeyPair(ca.ServerCertFile, ca.ServerKeyFile); err != nil {
		return nil, err
	}
	if ca.ClientCertFile, ca.ClientKeyFile, err = ca.issue("client", nil, x509.ExtKeyUsageClientAuth); err != nil {
		return nil, err
	}
	return ca, nil
}

// Issue signs a new certificate named name (CN "zohosink-"+name) for the
// given DNS names and IP addresses, writes name.pem and name-key.pem (PKCS#8)
// into Dir, and returns their paths. Failures are fatal.
func (ca *CA) Issue(t testing.TB, name string, hosts []string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := ca.issue(name, hosts, usage)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func (ca *CA) issue(name string, hosts []string, usage x509.ExtKeyUsage) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := ca.template("zohosink-" + name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if certFile, err = ca.write(name+".pem", "CERTIFICATE", der); err != nil {
		return "", "", err
	}
	keyFile, err = ca.write(name+"-key.pem", "PRIVATE KEY", pkcs8)
	return certFile, keyFile, err
}

// ServerConfig is a TLS server configuration presenting the server
// certificate; with clientAuth it requires a client certificate signed by the CA.
func (ca *CA) ServerConfig(clientAuth bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{ca.Server}, MinVersion: tls.VersionTLS12}
	if clientAuth {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = ca.Pool
	}
	return c
}

func (ca *CA) write(name, typ string, der []byte) (string, error) {
	path := filepath.Join(ca.Dir, name)
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func (ca *CA) template(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"zohosink tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(ca.validity),
	}
}
