package dataplane

import "sync"

// connRegistry tracks open TCP connections so that Close can end them. It is
// sharded so that concurrent connections rarely contend on one mutex.
type connRegistry struct {
	shards [32]struct {
		mu sync.Mutex
		m  map[*proxyConn]struct{}
	}
}

func (r *connRegistry) shard(c *proxyConn) int { return int(c.seq % uint64(len(r.shards))) }

func (r *connRegistry) add(c *proxyConn) {
	s := &r.shards[r.shard(c)]
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[*proxyConn]struct{})
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (r *connRegistry) remove(c *proxyConn) {
	s := &r.shards[r.shard(c)]
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

func (r *connRegistry) closeAll() {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		for c := range s.m {
			c.abort()
		}
		s.mu.Unlock()
	}
}
