package reconciler

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// F16: a bound Service's periodic requeue (resync, heartbeat) comes back at low priority: in the
// controller's workqueue (controller-runtime's priority queue) an event's reconcile of another
// Service, added after it, is served first.
func TestF16PeriodicRequeueWaitsBehindEvents(t *testing.T) {
	h := newHarness(t, seedService("web", nil), readySlice("web", "127.16.0.1"))
	h.r.Resync = time.Minute
	res, err := h.reconcile("web")
	if err != nil || res.RequeueAfter != time.Minute {
		t.Fatalf("reconcile: %v %+v", err, res)
	}
	q := priorityqueue.New[reconcile.Request]("f16")
	defer q.ShutDown()
	web := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "web"}}
	api := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: "api"}}
	q.AddWithOpts(priorityqueue.AddOpts{Priority: res.Priority}, web) // its requeue, due now
	q.Add(api)                                                        // an EndpointSlice change
	for deadline := time.Now().Add(5 * time.Second); q.Len() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queue never held both")
		}
	}
	if first, _ := q.Get(); first != api {
		t.Errorf("the queue serves %v first: the periodic requeue (priority %v) goes before an event", first, res.Priority)
	}
}
