package reconciler

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// notice is one Warning Event the reconciler may repeat on every reconcile.
type notice struct {
	reason, action, message string
}

// noticeBook remembers which warnings each Service was last told about, so that a condition
// that lasts (a pool configured by another creator, a distorted share, a refusal) produces one
// Event when it appears or changes, not one per reconcile and resync. It is in memory: after a
// controller restart each lasting warning is reported once more.
type noticeBook struct {
	mu   sync.Mutex
	last map[types.NamespacedName]map[string]map[notice]bool // Service → topic → notices
}

// fresh records notices as the current ones of topic for the Service and returns those that
// were not current before.
func (b *noticeBook) fresh(key types.NamespacedName, topic string, notices []notice) []notice {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[types.NamespacedName]map[string]map[notice]bool{}
	}
	topics := b.last[key]
	if topics == nil {
		topics = map[string]map[notice]bool{}
		b.last[key] = topics
	}
	prev := topics[topic]
	cur := make(map[notice]bool, len(notices))
	var out []notice
	for _, n := range notices {
		if !prev[n] && !cur[n] {
			out = append(out, n)
		}
		cur[n] = true
	}
	topics[topic] = cur
	return out
}

func (b *noticeBook) forget(key types.NamespacedName) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.last, key)
}

// warnOnce emits a Warning Event for each notice of topic that is new for the Service.
func (r *Reconciler) warnOnce(svc *corev1.Service, topic string, notices ...notice) {
	for _, n := range r.notices.fresh(types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}, topic, notices) {
		r.event(svc, corev1.EventTypeWarning, n.reason, n.action, "%s", n.message)
	}
}
