package auth_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/fleetlb/fleetlb/internal/elbd/auth"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// BenchmarkIdentify measures verifying one SDK-signed POST with a 20-member batch body.
func BenchmarkIdentify(b *testing.B) {
	v, err := auth.NewVerifier([]config.Credential{{AccessKey: testAK, SecretKey: testSK, ProjectID: testProject}})
	if err != nil {
		b.Fatal(err)
	}
	members := make([]map[string]any, 20)
	for i := range members {
		members[i] = map[string]any{"address": "127.10.1.10", "protocol_port": 8080 + i, "weight": 10, "subnet_cidr_id": "subnet-a1"}
	}
	req := signWithSDK(b, "http://127.0.0.1:9080", sdkReq{method: "POST", path: "/v3/p1/elb/pools/abc/members/batch-add",
		query: map[string]any{"x": "y"}, body: map[string]any{"members": members}}, testAK, testSK)
	body, _ := io.ReadAll(req.Body)
	req.Host = req.URL.Host
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := v.Identify(req, testProject); err != nil {
			b.Fatal(err)
		}
	}
}
