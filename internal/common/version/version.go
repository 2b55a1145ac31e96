// Package version is what every fleetlb binary answers to --version (P1): the release it was
// built from, the commit and the Go toolchain. `make build` and `make images` stamp the release
// and the commit with -ldflags (from git); a plain `go build` answers "devel" with the commit Go
// itself recorded from the checkout (runtime/debug.ReadBuildInfo).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Stamped by the Makefile:
//
//	-X github.com/fleetlb/fleetlb/internal/common/version.version=v1.2.3
//	-X github.com/fleetlb/fleetlb/internal/common/version.commit=<git rev-parse HEAD>
var version, commit string

// Devel is the version of a binary built without the Makefile's -ldflags.
const Devel = "devel"

// Info is one binary's build.
type Info struct {
	Version   string // vX.Y.Z (a release tag), git describe output, or Devel
	Commit    string // full commit ID, "-dirty" appended when the checkout had changes; "unknown" when not recorded
	GoVersion string // e.g. go1.26.8
	Platform  string // GOOS/GOARCH
}

// Get is this binary's Info: the stamped values first, then Go's build info.
func Get() Info {
	i := Info{Version: version, Commit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i = fromBuildInfo(i, bi)
	}
	if i.Version == "" {
		i.Version = Devel
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

// fromBuildInfo fills what -ldflags left empty from the VCS settings Go records at build time
// (vcs.revision, vcs.modified; absent with -buildvcs=false or outside a checkout).
func fromBuildInfo(i Info, bi *debug.BuildInfo) Info {
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if i.Commit != "" {
		return i
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	i.Commit = rev
	return i
}

// String is the --version line: "NAME VERSION (commit C, go1.x.y linux/amd64)".
func (i Info) String(name string) string {
	return fmt.Sprintf("%s %s (commit %s, %s %s)", name, i.Version, i.Commit, i.GoVersion, i.Platform)
}

// Requested says whether args ask for the version: --version (or -version) as the first
// argument, before any subcommand.
func Requested(args []string) bool {
	return len(args) > 0 && (args[0] == "--version" || args[0] == "-version")
}
