package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// C4: the cluster ID is recorded at the first start, a later disagreement refuses to start with
// the way out, --adopt-cluster-id renames through the adopter and records the new ID.
func TestC4_StableClusterID(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: types.UID("uid-1")}})
	recorded := func(key string) string {
		cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, ClusterIDConfigMap, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data[key]
	}
	var adopted []string
	adopter := func(_ context.Context, oldID, newID string) error {
		adopted = append(adopted, oldID+"→"+newID)
		return nil
	}

	// First start: the kube-system UID is recorded; again: accepted.
	for range 2 {
		if id, err := ResolveClusterID(ctx, cs, "", "", ClusterIDKey, adopter, nil); err != nil || id != "uid-1" {
			t.Fatalf("first start: %q %v", id, err)
		}
	}
	if got := recorded(ClusterIDKey); got != "uid-1" {
		t.Fatalf("recorded %q", got)
	}
	// A flag that disagrees: refused, saying how to keep or move the ID; nothing adopted.
	_, err := ResolveClusterID(ctx, cs, "prod-eu-1", "", ClusterIDKey, adopter, nil)
	if !errors.Is(err, ErrClusterIDChanged) {
		t.Fatalf("disagreeing flag: %v", err)
	}
	for _, m := range []string{`"uid-1"`, `"prod-eu-1"`, "--cluster-id uid-1", "--cluster-id prod-eu-1 --adopt-cluster-id uid-1"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("refusal %q does not say %q", err, m)
		}
	}
	// Adopting another ID than the recorded one is refused too.
	if _, err := ResolveClusterID(ctx, cs, "prod-eu-1", "uid-9", ClusterIDKey, adopter, nil); !errors.Is(err, ErrClusterIDChanged) || len(adopted) != 0 {
		t.Fatalf("adopting the wrong ID: %v, adopted %v", err, adopted)
	}
	// The migration: renamed, then recorded; the next start needs no flag but the new ID.
	if id, err := ResolveClusterID(ctx, cs, "prod-eu-1", "uid-1", ClusterIDKey, adopter, nil); err != nil || id != "prod-eu-1" {
		t.Fatalf("adoption: %q %v", id, err)
	}
	if len(adopted) != 1 || adopted[0] != "uid-1→prod-eu-1" || recorded(ClusterIDKey) != "prod-eu-1" {
		t.Fatalf("adopted %v, recorded %q", adopted, recorded(ClusterIDKey))
	}
	if _, err := ResolveClusterID(ctx, cs, "", "", ClusterIDKey, adopter, nil); !errors.Is(err, ErrClusterIDChanged) {
		t.Fatalf("back to the UID without adoption: %v", err)
	}
	// A failed adoption keeps the old record.
	failing := func(context.Context, string, string) error { return errors.New("ELB unreachable") }
	if _, err := ResolveClusterID(ctx, cs, "prod-eu-2", "prod-eu-1", ClusterIDKey, failing, nil); err == nil || recorded(ClusterIDKey) != "prod-eu-1" {
		t.Fatalf("failed adoption: %v, recorded %q", err, recorded(ClusterIDKey))
	}
	// A controller of another class in the same cluster records its own ID beside it.
	key := ClusterIDKeyFor("example.com/fleetlb")
	if id, err := ResolveClusterID(ctx, cs, "classy", "", key, adopter, nil); err != nil || id != "classy" || recorded(key) != "classy" || recorded(ClusterIDKey) != "prod-eu-1" {
		t.Fatalf("second class: %q %v, records %q %q", id, err, recorded(key), recorded(ClusterIDKey))
	}

	// First start of a recording controller with a --cluster-id, where members are named with the
	// kube-system UID (it ran with the default before): refused, nothing recorded.
	cs2 := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: types.UID("uid-2")}})
	owns := func(_ context.Context, id string) (bool, error) { return id == "uid-2", nil }
	_, err = ResolveClusterID(ctx, cs2, "prod-eu-3", "", ClusterIDKey, adopter, owns)
	if !errors.Is(err, ErrClusterIDChanged) || !strings.Contains(err.Error(), "--cluster-id prod-eu-3 --adopt-cluster-id uid-2") {
		t.Fatalf("flag over the default's members: %v", err)
	}
	if _, err := cs2.CoreV1().ConfigMaps("kube-system").Get(ctx, ClusterIDConfigMap, metav1.GetOptions{}); err == nil {
		t.Fatal("recorded although refused")
	}
	if id, err := ResolveClusterID(ctx, cs2, "", "", ClusterIDKey, adopter, owns); err != nil || id != "uid-2" {
		t.Fatalf("default ID: %q %v", id, err)
	}
}

// C4 with two replicas starting at once: the one that loses the race to create the record re-reads
// it and compares; the same ID is accepted, another is refused and never overwritten.
func TestC4_RecordRace(t *testing.T) {
	for _, tc := range []struct{ other, want string }{{"prod-eu-1", ""}, {"prod-eu-9", "cluster ID changed"}} {
		t.Run(tc.other, func(t *testing.T) {
			ctx := context.Background()
			cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: types.UID("uid-1")}})
			raced := false
			cs.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if raced {
					return false, nil, nil
				}
				raced = true
				// The other replica's create lands first.
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ClusterIDConfigMap, Namespace: "kube-system"},
					Data: map[string]string{ClusterIDKey: tc.other}}
				if err := cs.Tracker().Add(cm); err != nil {
					return true, nil, err
				}
				return true, nil, apierrors.NewAlreadyExists(corev1.Resource("configmaps"), ClusterIDConfigMap)
			})
			id, err := ResolveClusterID(ctx, cs, "prod-eu-1", "", ClusterIDKey, nil, nil)
			if !raced {
				t.Fatal("no create was made: the race was not exercised")
			}
			if tc.want == "" && (err != nil || id != "prod-eu-1") {
				t.Fatalf("same ID recorded by the other replica: %q %v", id, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("another ID recorded by the other replica: %q %v, want %q", id, err, tc.want)
			}
			cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, ClusterIDConfigMap, metav1.GetOptions{})
			if err != nil || cm.Data[ClusterIDKey] != tc.other {
				t.Fatalf("record %+v %v, want the other replica's %q untouched", cm, err, tc.other)
			}
		})
	}
}
