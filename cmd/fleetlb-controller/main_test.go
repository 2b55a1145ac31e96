package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFlagsRequireELB(t *testing.T) {
	_, err := parseFlags(nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--elb-endpoint and --project-id required") {
		t.Errorf("got %v", err)
	}
	f, err := parseFlags([]string{"--elb-endpoint", "http://127.0.0.1:9443", "--project-id", "p1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.defaultWeight != 100 || f.podNetwork != "overlay" || f.clusterID != "" {
		t.Errorf("defaults %+v", f)
	}
	if _, err := parseFlags([]string{"--elb-endpoint", "x", "--project-id", "p", "stray"}, io.Discard); err == nil {
		t.Error("stray arguments must be refused")
	}
}

func TestRunRefusesBadSettingsBeforeConnecting(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--elb-endpoint", "ftp://x", "--project-id", "p", "--kubeconfig", "/dev/null"}, "not an http(s) URL"},
		{[]string{"--elb-endpoint", "http://127.0.0.1:1", "--project-id", "p", "--kubeconfig", "/nonexistent/kubeconfig"}, "--kubeconfig"},
	}
	t.Setenv("HUAWEICLOUD_SDK_AK", "ak")
	t.Setenv("HUAWEICLOUD_SDK_SK", "sk")
	for _, c := range cases {
		err := run(context.Background(), c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want mention of %q", c.args, err, c.want)
		}
	}
}

// F11: --kube-api-qps and --kube-api-burst default to 100/200 (not client-go's 5/10, which queues
// a first sync of many Services for minutes), reach the Kubernetes client, and refuse non-positive values.
func TestF11KubeAPIRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--elb-endpoint", "http://127.0.0.1:1", "--project-id", "p", "--kubeconfig", kubeconfig}
	for _, c := range []struct {
		args  []string
		qps   float32
		burst int
	}{
		{nil, 100, 200},
		{[]string{"--kube-api-qps", "7.5", "--kube-api-burst", "9"}, 7.5, 9},
	} {
		f, err := parseFlags(append(slices.Clone(base), c.args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := f.restConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.QPS != c.qps || cfg.Burst != c.burst {
			t.Errorf("%v: the Kubernetes client gets QPS %v burst %d, want %v %d", c.args, cfg.QPS, cfg.Burst, c.qps, c.burst)
		}
	}
	for _, bad := range [][]string{{"--kube-api-qps", "0"}, {"--kube-api-qps", "-1"}, {"--kube-api-burst", "0"}} {
		_, err := parseFlags(append(slices.Clone(base), bad...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("%v: got %v, want a refusal saying the values must be positive", bad, err)
		}
	}
}
