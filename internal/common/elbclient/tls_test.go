package elbclient_test

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbclient"
	"github.com/fleetlb/fleetlb/internal/common/elbclient/elbtest"
)

// F1: the controller's client reaches elbd served over HTTPS when given the CA (--elb-ca-file),
// fails without it, and a CA file that holds no certificate is refused by New with the flag named.
func TestCAFileTrustsElbdOverTLS(t *testing.T) {
	h, _ := elbtest.Handler(t, "credentials:\n  - {accessKey: AK1, secretKey: SK1, projectID: p1}\n")
	srv := httptest.NewTLSServer(h) // a certificate for 127.0.0.1, its own CA
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	client := func(ca string) (*elbclient.SDK, error) {
		return elbclient.New(elbclient.Config{Endpoint: srv.URL, ProjectID: "p1", AK: "AK1", SK: "SK1", CAFile: ca,
			Timeout: 5 * time.Second, Retry: elbclient.Retry{Attempts: 1}})
	}
	c, err := client(caFile)
	if err != nil {
		t.Fatal(err)
	}
	if lbs, err := c.ListLoadBalancers(context.Background()); err != nil || len(lbs) != 0 {
		t.Fatalf("with the CA: %v, %v; want an empty list", lbs, err)
	}
	c, err = client("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListLoadBalancers(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA: %v; want a certificate error", err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{notPEM: "holds no PEM certificate", filepath.Join(dir, "missing.pem"): "--elb-ca-file"} {
		if _, err := client(file); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with CAFile %s: %v; want an error mentioning %q", file, err, want)
		}
	}
}
