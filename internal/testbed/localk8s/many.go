package localk8s

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// StartMany starts a cluster for each of opts at once (their control planes take the longest)
// and returns them in that order. When any fails to start, it stops the others and returns
// every error.
func StartMany(ctx context.Context, opts ...Options) ([]*Cluster, error) {
	out := make([]*Cluster, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i := range opts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = Start(ctx, opts[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range out {
			if c != nil {
				c.Stop()
			}
		}
		return nil, err
	}
	return out, nil
}

// CopyKubeconfig writes the cluster's admin kubeconfig to path too, readable by its owner only
// (it holds the admin token).
func (c *Cluster) CopyKubeconfig(path string) error {
	data, err := os.ReadFile(c.Kubeconfig)
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("cluster %s: copy its kubeconfig to %s: %w", c.Name, path, err)
	}
	return nil
}
