package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "../../charts/fleetlb-controller"
	configDir = "../../config"
)

// P2: config/ is the chart rendered with its defaults, file by file.
func TestConfigIsTheChartRendered(t *testing.T) {
	want, err := Manifests(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	have, _ := filepath.Glob(filepath.Join(configDir, "*.yaml"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s is rendered by no template of the chart: run make manifests", f)
		}
	}
	for name, text := range want {
		got, err := os.ReadFile(filepath.Join(configDir, name))
		if err != nil || string(got) != text {
			t.Errorf("config/%s differs from the chart rendered with its defaults (%v): run make manifests", name, err)
		}
	}
	for _, name := range []string{"rbac.yaml", "deployment.yaml", "pdb.yaml", "metrics.yaml"} {
		if _, ok := want[name]; !ok {
			t.Errorf("the chart's defaults render no %s", name)
		}
	}
}

// P7: the chart's version and appVersion are the release in VERSION (tagged vX.Y.Z).
func TestChartFollowsTheRelease(t *testing.T) {
	raw, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	release := strings.TrimSpace(string(raw))
	var meta struct{ Version, AppVersion string }
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Version != release || meta.AppVersion != release {
		t.Errorf("Chart.yaml version %q, appVersion %q; VERSION says %q: set both to it", meta.Version, meta.AppVersion, release)
	}
	// The default image is the one make images tags on the release commit (git describe: vX.Y.Z,
	// packaging/images' default name fleetlb/NAME), so that helm install pulls what was pushed.
	files, err := Manifests(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := `image: "fleetlb/fleetlb-controller:v` + release + `"`; !strings.Contains(files["deployment.yaml"], want) {
		t.Errorf("the chart's default image is not %s, the tag make images gives release %s:\n%s", want, release, files["deployment.yaml"])
	}
}

// P2: values.schema.json refuses what the controller would refuse or ignore, naming the value.
func TestSchemaRefusesBadValues(t *testing.T) {
	for _, c := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"flags": map[string]any{"elb-endpont": "https://elb"}}, "elb-endpont"},
		{map[string]any{"flags": map[string]any{"default-weight": 101}}, "default-weight"},
		{map[string]any{"flags": map[string]any{"resync-period": "five minutes"}}, "resync-period"},
		{map[string]any{"flags": map[string]any{"pod-network": "bridge"}}, "pod-network"},
		{map[string]any{"replicas": 3}, "replicas"},
	} {
		_, err := Render(chartDir, "kube-system", c.values)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("values %v: %v; want a refusal naming %s", c.values, err, c.want)
		}
	}
}

// P2: the options render what they say: the ServiceMonitor, the chart-made Secret, flags given as
// values instead of from the Secret, and no probe or metrics port when their address is "0".
func TestChartOptions(t *testing.T) {
	files, err := Render(chartDir, "fleetlb", map[string]any{
		"metrics":     map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
		"credentials": map[string]any{"create": true, "data": map[string]any{"HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk"}},
		"flags":       map[string]any{"project-id": "p1", "region": "cn-north-4", "elb-endpoint": "https://elb.cn-north-4.myhuaweicloud.com", "health-probe-bind-address": "0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		"metrics.yaml":    {"kind: ServiceMonitor", "namespace: fleetlb", "port: metrics"},
		"secret.yaml":     {"kind: Secret", `HUAWEICLOUD_SDK_AK: "ak"`},
		"deployment.yaml": {`"--project-id=p1"`, `"--region=cn-north-4"`, "namespace: fleetlb"},
	} {
		for _, w := range want {
			if !strings.Contains(files[file], w) {
				t.Errorf("%s lacks %q:\n%s", file, w, files[file])
			}
		}
	}
	d := files["deployment.yaml"]
	for _, absent := range []string{"HUAWEICLOUD_SDK_PROJECT_ID", "readinessProbe", "livenessProbe", "startupProbe", "name: probes"} {
		if strings.Contains(d, absent) {
			t.Errorf("deployment.yaml has %q:\n%s", absent, d)
		}
	}
}
