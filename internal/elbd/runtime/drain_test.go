package runtime

import (
	"testing"
	"time"

	"github.com/fleetlb/fleetlb/internal/elbd/store"
)

// E7: a pool's connection_drain reaches the data plane as its drain timeout; disabled or
// absent, there is none.
func TestTranslateConnectionDrain(t *testing.T) {
	for _, c := range []struct {
		drain *store.ConnectionDrain
		want  time.Duration
	}{
		{nil, 0},
		{&store.ConnectionDrain{Enable: false, Timeout: 60}, 0},
		{&store.ConnectionDrain{Enable: true, Timeout: 60}, time.Minute},
	} {
		cfg, _ := Translate(store.Snapshot{Pools: []store.Pool{{Meta: store.Meta{ID: "p"}, LBAlgorithm: store.AlgRoundRobin, AdminStateUp: true, ConnectionDrain: c.drain}}})
		if len(cfg.Pools) != 1 || cfg.Pools[0].Drain != c.want {
			t.Errorf("connection_drain %+v: data plane pools %+v, want drain %s", c.drain, cfg.Pools, c.want)
		}
	}
}
