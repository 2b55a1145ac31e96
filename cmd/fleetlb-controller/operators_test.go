package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/fleetlb/fleetlb/internal/controller/reconciler"
)

const (
	operatorsFile = "../../docs/operators.md"
	repoRoot      = "../../"
)

// otherToolsFlags are the flags docs/operators.md gives to helm, kubectl and docker, and the
// --version every binary answers (internal/common/program), none of them the controller's.
var otherToolsFlags = []string{"set", "reuse-values", "from-literal", "type", "overwrite", "previous", "version"}

func readOperators(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(operatorsFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// P9: every flag and chart value docs/operators.md names is a flag of the controller, and every
// Event reason it names is one the controller reports (reconciler.ReasonDocs).
func TestOperatorsGuideNamesRealFlagsAndReasons(t *testing.T) {
	doc := readOperators(t)
	fs := (&flags{}).flagSet(io.Discard)
	for _, m := range regexp.MustCompile("(?:^|[\\s`(])--([a-z][a-z0-9-]*)").FindAllStringSubmatch(doc, -1) {
		if fs.Lookup(m[1]) == nil && !slices.Contains(otherToolsFlags, m[1]) {
			t.Errorf("docs/operators.md names --%s, which fleetlb-controller does not have", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\bflags\.([a-z][a-z0-9-]*)`).FindAllStringSubmatch(doc, -1) {
		if fs.Lookup(m[1]) == nil {
			t.Errorf("docs/operators.md names the chart value flags.%s, which is no flag of fleetlb-controller", m[1])
		}
	}
	reasons := map[string]bool{}
	for _, r := range reconciler.ReasonDocs {
		reasons[r.Reason] = true
	}
	named := regexp.MustCompile("(?:Event|Warning|Events:) `([A-Za-z]+)`").FindAllStringSubmatch(doc, -1)
	_, table, _ := strings.Cut(doc, "## Troubleshooting by Event reason")
	named = append(named, regexp.MustCompile("(?m)^\\| `([A-Za-z]+)` \\|").FindAllStringSubmatch(table, -1)...)
	if len(named) < 5 {
		t.Fatalf("docs/operators.md names %d Event reasons; its troubleshooting table should have at least 5", len(named))
	}
	for _, m := range named {
		if !reasons[m[1]] {
			t.Errorf("docs/operators.md names the Event reason %s, which the controller never reports (reconciler.ReasonDocs)", m[1])
		}
	}
	for _, name := range []string{reconciler.Finalizer, reconciler.LoadBalancerClass, reconciler.LeaseNameFor(""),
		reconciler.ClusterIDConfigMap, reconciler.BoundELBAnnotation, reconciler.ConditionBound} {
		if !strings.Contains(doc, name) {
			t.Errorf("docs/operators.md does not name %s, which operators see", name)
		}
	}
}

// P9: every source file docs/operators.md cites exists, and an identifier cited beside it,
// "`path` (`Name`)", is in that file (or, for a directory, in one of its files).
func TestOperatorsGuideCitesExistingCode(t *testing.T) {
	doc := readOperators(t)
	cite := regexp.MustCompile("`((?:cmd|internal|charts|config|docs|packaging)/[A-Za-z0-9_./-]*[A-Za-z0-9_]|Makefile|VERSION)`(?: \\(`([A-Za-z][A-Za-z0-9_]*)`\\))?")
	found := cite.FindAllStringSubmatch(doc, -1)
	if len(found) < 10 {
		t.Fatalf("docs/operators.md cites %d source files; it should cite the code it describes", len(found))
	}
	for _, m := range found {
		path, ident := filepath.Join(repoRoot, m[1]), m[2]
		info, err := os.Stat(path)
		if err != nil {
			t.Errorf("docs/operators.md cites %s, which does not exist", m[1])
			continue
		}
		if ident == "" {
			continue
		}
		files := []string{path}
		if info.IsDir() {
			files, _ = filepath.Glob(filepath.Join(path, "*.go"))
		}
		if !slices.ContainsFunc(files, func(f string) bool {
			b, err := os.ReadFile(f)
			return err == nil && regexp.MustCompile(`\b`+ident+`\b`).Match(b)
		}) {
			t.Errorf("docs/operators.md cites %s in %s, which has no such name", ident, m[1])
		}
	}
}

// P9: the IAM table of docs/operators.md names exactly the SDK calls the ELB client makes
// (internal/common/elbclient): a call added there without its permission fails here.
func TestOperatorsGuideListsEverySDKCall(t *testing.T) {
	doc := readOperators(t)
	inDoc := map[string]bool{}
	for _, m := range regexp.MustCompile("`(v2|v3|VPC) ([A-Z][A-Za-z]+)`").FindAllStringSubmatch(doc, -1) {
		inDoc[strings.ToLower(m[1])+" "+m[2]] = true
	}
	srcs, _ := filepath.Glob(repoRoot + "internal/common/elbclient/*.go")
	inCode := map[string]bool{}
	call := regexp.MustCompile(`\.(v2|v3|vpc)\.([A-Z][A-Za-z]+)\b`)
	for _, f := range srcs {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			inCode[m[1]+" "+m[2]] = true
		}
	}
	if len(inCode) < 20 {
		t.Fatalf("found only %d SDK calls in internal/common/elbclient; the pattern no longer matches the code", len(inCode))
	}
	for c := range inCode {
		if !inDoc[c] {
			t.Errorf("internal/common/elbclient calls the SDK's %s, which docs/operators.md's IAM table does not list: add it with its IAM action", c)
		}
	}
	for c := range inDoc {
		if !inCode[c] {
			t.Errorf("docs/operators.md lists the SDK call %s, which internal/common/elbclient does not make", c)
		}
	}
}

// P9: docs/operators.md names every key the chart reads from the credentials Secret.
func TestOperatorsGuideNamesTheSecretsKeys(t *testing.T) {
	doc := readOperators(t)
	var values struct {
		Credentials struct {
			FlagsFromSecret map[string]string `json:"flagsFromSecret"`
		} `json:"credentials"`
	}
	raw, err := os.ReadFile(chartDir + "values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}
	keys := []string{"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"}
	for flag, key := range values.Credentials.FlagsFromSecret {
		keys = append(keys, key)
		if !strings.Contains(doc, "| `"+key+"` | `--"+flag+"`") {
			t.Errorf("docs/operators.md's Secret table has no row for %s (--%s)", key, flag)
		}
	}
	for _, k := range keys {
		if !strings.Contains(doc, "--from-literal="+k+"=") {
			t.Errorf("docs/operators.md's kubectl create secret does not set %s", k)
		}
	}
}
