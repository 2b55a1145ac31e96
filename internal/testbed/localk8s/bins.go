package localk8s

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// BinDirEnv names the environment variable that points at the binaries.
const BinDirEnv = "FLEETLB_K8S_BIN_DIR"

// Binaries are the programs a cluster runs, all in one directory.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// FindBinDir returns the directory with the Kubernetes binaries: $FLEETLB_K8S_BIN_DIR
// if set, else bin/k8s in the fleetlb repository containing the working
// directory. The error wraps ErrNoBinaries and says how to build them.
func FindBinDir() (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", fmt.Errorf("%w: set %s or run from inside the fleetlb repository (%v)", ErrNoBinaries, BinDirEnv, err)
		}
		dir = filepath.Join(root, "bin", "k8s")
	}
	return dir, checkBinDir(dir)
}

func checkBinDir(dir string) error {
	var missing []string
	for _, b := range Binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s missing in %s; build them with `make k8s-bins` (or ./tools/build-k8s-bins.sh DIR and set %s=DIR)",
			ErrNoBinaries, strings.Join(missing, ", "), dir, BinDirEnv)
	}
	return nil
}

// ErrNotInRepo is RepoRoot's error when the working directory is outside the repository.
var ErrNotInRepo = errors.New("no go.mod of module github.com/fleetlb/fleetlb above the working directory")

// RepoRoot walks up from the working directory to the go.mod of module
// github.com/fleetlb/fleetlb.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFleetlbModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotInRepo
		}
		dir = parent
	}
}

func isFleetlbModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == "github.com/fleetlb/fleetlb"
		}
	}
	return false
}
