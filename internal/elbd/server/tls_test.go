package server_test

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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	sdkconfig "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	elbv3 "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/v3/model"

	"github.com/fleetlb/fleetlb/internal/elbd/api"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
	"github.com/fleetlb/fleetlb/internal/elbd/elbdtest"
	"github.com/fleetlb/fleetlb/internal/elbd/server"
)

// testPKI writes a fresh CA and a server certificate for 127.0.0.1 signed by it into dir and
// returns the CA's pool and the certificate and key files.
func testPKI(t *testing.T, dir string) (ca *x509.CertPool, certFile, keyFile string) {
	t.Helper()
	caKey := elbdtest.Must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleetlb test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caCert := elbdtest.Must[*x509.Certificate](t)(x509.ParseCertificate(elbdtest.Must[[]byte](t)(x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey))))
	key := elbdtest.Must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "elbd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der := elbdtest.Must[[]byte](t)(x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey))
	keyDER := elbdtest.Must[[]byte](t)(x509.MarshalECPrivateKey(key))
	certFile, keyFile = filepath.Join(dir, "elbd.crt"), filepath.Join(dir, "elbd.key")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca = x509.NewCertPool()
	ca.AddCert(caCert)
	return ca, certFile, keyFile
}

// sdkClient is the official v3 client for endpoint, trusting ca (the system roots when nil).
func sdkClient(t *testing.T, endpoint string, ca *x509.CertPool) *elbv3.ElbClient {
	t.Helper()
	cred, err := basic.NewCredentialsBuilder().WithAk("AK1").WithSk("SK1").WithProjectId("p1").SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}}
	hc, err := elbv3.ElbClientBuilder().WithEndpoints([]string{endpoint}).WithCredential(cred).
		WithHttpConfig(sdkconfig.DefaultHttpConfig().WithHttpTransport(transport).WithRetries(0).WithTimeout(10 * time.Second)).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return elbv3.NewElbClient(hc)
}

// F1: with --tls-cert/--tls-key elbd serves HTTPS; the official SDK connects when configured with
// the CA that signed the certificate and refuses the server without it.
func TestServeTLS(t *testing.T) {
	ca, certFile, keyFile := testPKI(t, t.TempDir())
	s := newServer(t, server.Options{TLSCertFile: certFile, TLSKeyFile: keyFile})
	if s.Scheme() != "https" {
		t.Errorf("Scheme() = %q with a certificate, want https", s.Scheme())
	}
	ln := listen(t)
	serve(t, s, ln, nil)
	endpoint := "https://" + ln.Addr().String()

	lbs, err := sdkClient(t, endpoint, ca).ListLoadBalancers(&model.ListLoadBalancersRequest{})
	if err != nil {
		t.Fatalf("SDK with the CA: %v", err)
	}
	if lbs.Loadbalancers == nil || len(*lbs.Loadbalancers) != 0 {
		t.Errorf("SDK with the CA: %+v, want an empty list", lbs)
	}
	_, err = sdkClient(t, endpoint, x509.NewCertPool()).ListLoadBalancers(&model.ListLoadBalancersRequest{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("SDK without the CA: %v, want a certificate error", err)
	}
	// Plain HTTP to the TLS port is not served.
	resp, err := http.Get("http://" + ln.Addr().String() + "/v3/p1/elb/loadbalancers")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS port: %s, want Go's 400 (client sent an HTTP request to an HTTPS server)", resp.Status)
		}
	}
}

func TestNewRefusesHalfOrBadTLS(t *testing.T) {
	_, certFile, keyFile := testPKI(t, t.TempDir())
	cfg := &config.Config{Credentials: []config.Credential{{AccessKey: "AK1", SecretKey: "SK1", ProjectID: "p1"}}}
	for _, c := range []struct {
		cert, key, want string
	}{
		{certFile, "", "--tls-cert and --tls-key go together"},
		{"", keyFile, "--tls-cert and --tls-key go together"},
		{keyFile, certFile, "--tls-cert " + keyFile},
		{"/nonexistent.crt", keyFile, "no such file"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := server.New(server.Options{Config: cfg, DataDir: dir, DataPlane: api.NopDataPlane{}, TLSCertFile: c.cert, TLSKeyFile: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(cert %q, key %q) = %v; want an error mentioning %q", c.cert, c.key, err, c.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("data directory exists after a refused TLS configuration (stat: %v)", err)
		}
	}
}

// F1: plain HTTP on loopback only, unless --insecure-http. Decided on the address, never bound.
func TestCheckPlainHTTP(t *testing.T) {
	loopback := []string{"127.0.0.1:9080", "127.45.6.7:0", "[::1]:9080", "localhost:9080"}
	others := []string{"0.0.0.0:9080", ":9080", "[::]:9080", "10.1.2.3:9080", "192.168.0.10:443", "[2001:db8::1]:9080", "elbd.example.com:9080"}
	for _, addr := range loopback {
		if err := server.CheckPlainHTTP(addr, false); err != nil {
			t.Errorf("CheckPlainHTTP(%q) = %v; want a loopback address allowed", addr, err)
		}
	}
	for _, addr := range others {
		if err := server.CheckPlainHTTP(addr, true); err != nil {
			t.Errorf("CheckPlainHTTP(%q, insecure) = %v; want it allowed with --insecure-http", addr, err)
		}
		err := server.CheckPlainHTTP(addr, false)
		if err == nil {
			t.Errorf("CheckPlainHTTP(%q) allowed plain HTTP on an address that is not loopback", addr)
			continue
		}
		for _, want := range []string{addr, "not a loopback address", "--tls-cert and --tls-key", "--insecure-http"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("CheckPlainHTTP(%q) message %q does not mention %q", addr, err, want)
			}
		}
	}
}
