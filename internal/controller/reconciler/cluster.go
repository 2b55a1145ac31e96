package reconciler

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
)

// MinMinor is the oldest Kubernetes minor version (1.x) the controller runs against (R12: the
// source document requires clusters of v1.23 or later).
const MinMinor = 23

var leadingDigits = regexp.MustCompile(`^\d+`)

// CheckServerVersion refuses API servers older than v1.23 (R12) and returns the version seen.
func CheckServerVersion(dc discovery.ServerVersionInterface) (string, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("read the API server's version: %w", err)
	}
	return v.GitVersion, checkVersion(v)
}

func checkVersion(v *version.Info) error {
	// Minor can read "23+" on some distributions; only its leading digits count.
	major, errMaj := strconv.Atoi(leadingDigits.FindString(v.Major))
	minor, errMin := strconv.Atoi(leadingDigits.FindString(v.Minor))
	if errMaj != nil || errMin != nil {
		return fmt.Errorf("the API server reports version %q (major %q, minor %q), which cannot be read; fleetlb-controller needs Kubernetes v1.%d or later", v.GitVersion, v.Major, v.Minor, MinMinor)
	}
	if major < 1 || major == 1 && minor < MinMinor {
		return fmt.Errorf("the API server is Kubernetes %s, older than v1.%d; cross-cluster ELB binding needs v1.%d or later (the source document requires v1.23.18 or a listed patch level): upgrade the cluster", v.GitVersion, MinMinor, MinMinor)
	}
	return nil
}

// DefaultClusterID is the UID of the kube-system namespace: unique per cluster and stable for its
// lifetime, unlike a name such as "kubernetes" that every cluster shares.
func DefaultClusterID(ctx context.Context, cs kubernetes.Interface) (string, error) {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read namespace kube-system for the default cluster ID (or pass --cluster-id): %w", err)
	}
	if ns.UID == "" {
		return "", fmt.Errorf("namespace kube-system has no UID; pass --cluster-id")
	}
	return string(ns.UID), nil
}
