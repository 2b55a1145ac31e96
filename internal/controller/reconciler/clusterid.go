package reconciler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The cluster ID names every member this cluster owns on the ELBs (R13). It must never change
// silently: members named with the old ID would be left behind as someone else's (C4). It is
// therefore recorded in the cluster the first time, and checked at every start.
const (
	// ClusterIDConfigMap (in kube-system) records the cluster ID the members are named with.
	ClusterIDConfigMap = "fleetlb-cluster-id"
	// ClusterIDKey is the ConfigMap's key holding the ID of the controller without
	// --load-balancer-class; one with a class records its ID under ClusterIDKeyFor(class).
	ClusterIDKey = "cluster-id"
)

// ClusterIDKeyFor is the ConfigMap key of the controller serving class ("" = none): controllers
// of different classes in one cluster may run with different IDs.
func ClusterIDKeyFor(class string) string {
	if class == "" {
		return ClusterIDKey
	}
	return ClusterIDKey + "." + notKeyChars.ReplaceAllString(class, "_")
}

var notKeyChars = regexp.MustCompile(`[^-._a-zA-Z0-9]`)

// LeaseNameFor is the leader election Lease of the controllers serving class ("" = none): each
// class elects its own leader (C8, C12). A class is any string, so its name part is made a valid
// object name and followed by a hash of the class itself, so two classes never share a Lease.
func LeaseNameFor(class string) string {
	const base = "fleetlb-controller.fleetlb.io"
	if class == "" {
		return base
	}
	part := notLeaseChars.ReplaceAllString(strings.ToLower(class), "-")
	if len(part) > 180 {
		part = part[:180]
	}
	// Each dot-separated label starts and ends with a letter or digit.
	part = strings.Trim(aroundDots.ReplaceAllString(part, "."), "-.")
	if part == "" {
		part = "class"
	}
	h := fnv.New32a()
	h.Write([]byte(class))
	return fmt.Sprintf("%s.%s-%08x", base, part, h.Sum32())
}

var (
	notLeaseChars = regexp.MustCompile(`[^-.a-z0-9]+`)
	aroundDots    = regexp.MustCompile(`[-.]*\.[-.]*`)
)

// ErrClusterIDChanged is returned (wrapped) when the configured cluster ID differs from the
// recorded one and no adoption was asked for.
var ErrClusterIDChanged = errors.New("cluster ID changed")

// Adopter renames what an old cluster ID owns on the ELBs to a new one (deploy.Deployer).
type Adopter func(ctx context.Context, oldID, newID string) error

// Owner reports whether the ELBs hold anything named with a cluster ID (deploy.Deployer.Owns).
type Owner func(ctx context.Context, clusterID string) (bool, error)

// ResolveClusterID returns the cluster ID to run with: configured (--cluster-id, or "" for the
// kube-system namespace UID), checked against the ID recorded under key in ConfigMap
// kube-system/fleetlb-cluster-id, which is written on first start. When they differ the
// controller must not write: unless adopt names the recorded ID (--adopt-cluster-id OLD), in
// which case adopter renames this cluster's members and marks in place and the record is updated
// after.
//
// With nothing recorded yet (the first start of a controller that records it) and a --cluster-id
// other than the kube-system UID, owns (nil: not asked) tells whether members are named with the
// UID: a controller that ran before with the default ID; then it refuses too.
func ResolveClusterID(ctx context.Context, cs kubernetes.Interface, configured, adopt, key string, adopter Adopter, owns Owner) (string, error) {
	uid, err := DefaultClusterID(ctx, cs)
	if err != nil && configured == "" {
		return "", err
	}
	id, source := configured, "--cluster-id"
	if id == "" {
		id, source = uid, "the UID of namespace kube-system"
	}
	cms := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	for attempt := 0; ; attempt++ {
		cm, err := cms.Get(ctx, ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("read the recorded cluster ID (ConfigMap kube-system/%s): %w", ClusterIDConfigMap, err)
		}
		var recorded string
		if err == nil {
			recorded = cm.Data[key]
		}
		switch {
		case recorded == id:
			return id, nil
		case recorded == "" && adopt != "" && adopter != nil:
			// Nothing recorded (a controller older than the record): adopt as asked.
			if err := adopter(ctx, adopt, id); err != nil {
				return "", fmt.Errorf("adopt cluster ID %q as %q: %w", adopt, id, err)
			}
		case recorded == "" && owns != nil && uid != "" && uid != id:
			if has, err := owns(ctx, uid); err != nil {
				return "", fmt.Errorf("look for members named with the kube-system UID %q before recording cluster ID %q: %w", uid, id, err)
			} else if has {
				return "", fmt.Errorf("%w: no cluster ID is recorded yet (ConfigMap kube-system/%s), but the ELBs hold members named with %q, the UID of namespace kube-system: this cluster ran without --cluster-id before, and --cluster-id %s would leave them behind. To keep them, start without --cluster-id (or with --cluster-id %s). To move to %q, start once with --cluster-id %s --adopt-cluster-id %s: they are renamed in place (no traffic lost)",
					ErrClusterIDChanged, ClusterIDConfigMap, uid, id, uid, id, id, uid)
			}
		case recorded == "":
		case adopt != recorded || adopter == nil:
			return "", fmt.Errorf("%w: this cluster's members on the ELBs are named with cluster ID %q (recorded in ConfigMap kube-system/%s, key %s), but the controller now has %q (from %s); it writes nothing, so that the members named %q are neither orphaned nor doubled. To keep the recorded ID, start with --cluster-id %s. To move to %q, start once with --cluster-id %s --adopt-cluster-id %s: every member and listener mark of %q is renamed in place on the ELBs (no traffic lost) and the record updated",
				ErrClusterIDChanged, recorded, ClusterIDConfigMap, key, id, source, recorded, recorded, id, id, recorded, recorded)
		default:
			if err := adopter(ctx, recorded, id); err != nil {
				return "", fmt.Errorf("adopt cluster ID %q as %q (the record keeps %q until this succeeds; start again with the same flags to finish): %w", recorded, id, recorded, err)
			}
		}
		// Record id (first start, or after an adoption).
		if cm == nil || cm.Name == "" {
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: ClusterIDConfigMap, Namespace: metav1.NamespaceSystem,
					Labels: map[string]string{"app.kubernetes.io/managed-by": ControllerName}},
				Data: map[string]string{key: id},
			}, metav1.CreateOptions{})
		} else {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[key] = id
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if (apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err)) && attempt < 5 {
			continue // another replica or controller wrote meanwhile: read again
		}
		if err != nil {
			return "", fmt.Errorf("record cluster ID %q in ConfigMap kube-system/%s (start again to retry): %w", id, ClusterIDConfigMap, err)
		}
		return id, nil
	}
}
