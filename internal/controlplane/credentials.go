package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
)

// adminToken authenticates the admin user (system:masters) through
// --token-auth-file. It only ever guards a loopback test server.
const adminToken = "leader-elector-test-admin-token"

type credentialFiles struct {
	saKey, tokens, caCert string
	ca                    *certAuthority
}

// writeCredentials makes what kube-apiserver needs to authenticate: a
// service-account signing key, a token file with the admin, and a client CA
// so tests can mint users with any name and groups (UserConfig).
func writeCredentials(dir string) (*credentialFiles, error) {
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the service-account key: %w", err)
	}
	f := &credentialFiles{
		saKey:  filepath.Join(dir, "sa.key"),
		tokens: filepath.Join(dir, "tokens.csv"),
		caCert: filepath.Join(dir, "client-ca.crt"),
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)})
	if err := os.WriteFile(f.saKey, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing the service-account key: %w", err)
	}
	if err := os.WriteFile(f.tokens, []byte(adminToken+`,admin,admin-uid,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the token file: %w", err)
	}
	if f.ca, err = newCertAuthority(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(f.caCert, f.ca.certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing the client CA: %w", err)
	}
	return f, nil
}

type certAuthority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCertAuthority() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the client CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "leader-elector-test-client-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-signing the client CA: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// sign issues a client certificate for user in groups (O= fields).
func (ca *certAuthority) sign(user string, groups []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating a key for %s: %w", user, err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("signing a certificate for %s: %w", user, err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// UserConfig returns a client configuration for user in groups, authenticated
// by a client certificate. The user has no rights until a Role grants them.
func (cp *ControlPlane) UserConfig(user string, groups ...string) *rest.Config {
	certPEM, keyPEM, err := cp.ca.sign(user, groups)
	if err != nil {
		panic(err) // crypto/rand failing is not a test outcome
	}
	return &rest.Config{
		Host: cp.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: cp.servingCA(), CertData: certPEM, KeyData: keyPEM,
		},
		QPS:   cp.Admin.QPS,
		Burst: cp.Admin.Burst,
	}
}
