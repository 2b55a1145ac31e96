package dataplane

import "testing"

// E6a: with SOURCE_IP, non-zero weights have no effect and weight 0 takes no new connections
// (services/elb/v3/model/model_create_pool_option.go lb_algorithm; the user guide's
// "Configuring Weights for Backend Servers"): 2000 client addresses split evenly between
// members of weights 1 and 99, none to the member of weight 0.
func TestSourceIPIgnoresNonZeroWeights(t *testing.T) {
	dp := newTestDataPlane(t)
	servePool(t, dp, 95, "SOURCE_IP", 1, 99, 0)
	counts := countTCP(t, "127.50.0.95:8080", 2000)
	if counts["m2"] != 0 {
		t.Errorf("the member of weight 0 got %d new connections, want none", counts["m2"])
	}
	for _, m := range []string{"m0", "m1"} {
		if share := float64(counts[m]) / 20; share < 45 || share > 55 {
			t.Errorf("member %s got %.1f%% of the client addresses, want 50%% ± 5 (weights 1 and 99 count the same): %v", m, share, counts)
		}
	}
}
