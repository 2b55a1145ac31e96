package playground

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"

	"github.com/fleetlb/fleetlb/internal/testbed/localk8s"
)

// TLSFiles are the PEM files of elbd's API over TLS (Options.TLS): a CA made for this playground
// and elbd's certificate for 127.0.0.1, which it signed.
type TLSFiles struct {
	CA, Cert, Key string
}

// writeTLS generates a fresh CA and a serving certificate for 127.0.0.1 and localhost in dir.
// The CA's key is not kept: nothing else is ever signed with it.
func writeTLS(dir string) (TLSFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return TLSFiles{}, err
	}
	ca, caKey, err := localk8s.NewCertificate(&x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleetlb-local elbd CA"},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}, nil, nil)
	if err != nil {
		return TLSFiles{}, err
	}
	srv, srvKey, err := localk8s.NewCertificate(&x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "elbd"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, ca, caKey)
	if err != nil {
		return TLSFiles{}, err
	}
	f := TLSFiles{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "elbd.crt"), Key: filepath.Join(dir, "elbd.key")}
	for path, data := range map[string][]byte{
		f.CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		f.Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}),
		f.Key:  localk8s.PEMKey(srvKey),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return TLSFiles{}, err
		}
	}
	return f, nil
}
