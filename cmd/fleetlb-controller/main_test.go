package main

import (
	"context"
	"io"
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
