package config

import (
	"strings"
	"testing"
)

// O15: clusterNames names clusters for people; a key that is no cluster ID, or a name that is
// empty, too long or not printable, is refused saying what to change.
func TestO15ClusterNames(t *testing.T) {
	c, err := Parse([]byte(good + "clusterNames:\n  east: East (Frankfurt)\n  c-1f2e: staging\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterNames["east"] != "East (Frankfurt)" || c.ClusterNames["c-1f2e"] != "staging" {
		t.Errorf("clusterNames %v", c.ClusterNames)
	}
	for yaml, want := range map[string]string{
		"  a/b: x\n":     `key "a/b"`,
		"  east: \"\"\n": "clusterNames.east is empty",
		"  east: " + strings.Repeat("n", 65) + "\n": "is 65 characters long; use at most 64",
		"  east: \"a\\tb\"\n":                       "non-printing character",
	} {
		_, err := Parse([]byte(good + "clusterNames:\n" + yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("clusterNames:\n%s: %v, want it to mention %q", yaml, err, want)
		}
	}
}
