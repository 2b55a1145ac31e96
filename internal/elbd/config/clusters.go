package config

import (
	"slices"
	"unicode"

	"github.com/fleetlb/fleetlb/internal/common/ownership"
)

// MaxClusterNameLen bounds a cluster's name for people (clusterNames), so it fits a table cell.
const MaxClusterNameLen = 64

// validateClusterNames checks clusterNames: each key a cluster ID as the ownership marks take it
// (ownership.CheckClusterID), each name 1-64 printable characters.
func (c *Config) validateClusterNames(add func(format string, a ...any)) {
	ids := make([]string, 0, len(c.ClusterNames))
	for id := range c.ClusterNames {
		ids = append(ids, id)
	}
	slices.Sort(ids) // report in a stable order
	for _, id := range ids {
		name := c.ClusterNames[id]
		if err := ownership.CheckClusterID(id); err != nil {
			add("clusterNames: key %q: %v", id, err)
		}
		switch n := len([]rune(name)); {
		case n == 0:
			add("clusterNames.%s is empty; give the cluster a name, or leave it out", id)
		case n > MaxClusterNameLen:
			add("clusterNames.%s is %d characters long; use at most %d", id, n, MaxClusterNameLen)
		case slices.ContainsFunc([]rune(name), func(r rune) bool { return !unicode.IsPrint(r) }):
			add("clusterNames.%s %q has a non-printing character", id, name)
		}
	}
}
