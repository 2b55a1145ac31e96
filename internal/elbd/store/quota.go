package store

import (
	"fmt"
	"net/http"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/fleetlb/fleetlb/internal/elbd/apierr"
	"github.com/fleetlb/fleetlb/internal/elbd/config"
)

// Option configures a Store at Open.
type Option func(*Store)

// WithQuotas sets the quotas creates are held to; without it every project has the real cloud's
// defaults (config.DefaultQuotas).
func WithQuotas(p *config.QuotaPlan) Option { return func(s *Store) { s.quotas = p } }

// Quotas returns the project's quotas, every key set (E1).
func (s *Store) Quotas(projectID string) config.Quotas { return s.quotas.For(projectID) }

// The quota keys elbd counts (the quota API's field names, model_quota.go). The rest (certificates,
// forwarding policies, IP groups, ...) are reported with 0 used: elbd has no such resources.
const (
	QuotaLoadBalancer             = "loadbalancer"
	QuotaListener                 = "listener"
	QuotaPool                     = "pool"
	QuotaHealthMonitor            = "healthmonitor"
	QuotaMember                   = "member"
	QuotaMembersPerPool           = "members_per_pool"
	QuotaListenersPerLoadBalancer = "listeners_per_loadbalancer"
	QuotaListenersPerPool         = "listeners_per_pool"
)

// errQuota is the refusal of a create that would go over a quota (E1). The API reference names no
// error code for it, so it is the 409 ELB.8907 of other refusals, with a message in the words of
// the Neutron API the shared ELB grew from ("Quota exceeded for resources: [...]") that names the
// quota, its limit and what is used.
func errQuota(key, scope string, limit, used, adding int) error {
	return &apierr.Error{Status: http.StatusConflict, Code: apierr.CodeConflict, Msg: fmt.Sprintf(
		"Quota exceeded for resources: ['%s']: the %s quota%s is %d, %d used, and this request adds %d; delete some or ask for a higher quota (elbd: quotas.%s in its config)",
		key, key, scope, limit, used, adding, key)}
}

// checkQuota refuses adding more of key when used+adding would pass the project's limit; scope
// says what the count is of (" of pool X") in the message.
func (s *Store) checkQuota(projectID, key, scope string, used, adding int) error {
	limit := s.quotas.For(projectID)[key]
	if limit == config.Unlimited || used+adding <= limit {
		return nil
	}
	return errQuota(key, scope, limit, used, adding)
}

// countProject counts the records of bucket in project (both API families: the quotas are per
// project, as on the real cloud where they are per account and region).
func countProject[T record](tx *bolt.Tx, bucket []byte, projectID string, match func(T) bool) (int, error) {
	in, err := scanWhere(tx, bucket, func(v T) bool { return v.Base().ProjectID == projectID && (match == nil || match(v)) })
	return len(in), err
}

// checkProjectQuota refuses one more record of bucket (quota key) in the project when its quota
// is used up; an unlimited quota is not counted at all (the count reads every record).
func checkProjectQuota[T record](s *Store, tx *bolt.Tx, bucket []byte, projectID, key string) error {
	if s.quotas.For(projectID)[key] == config.Unlimited {
		return nil
	}
	used, err := countProject[T](tx, bucket, projectID, nil)
	if err != nil {
		return err
	}
	return s.checkQuota(projectID, key, " of project "+projectID, used, 1)
}

// poolMemberCount counts a pool's members by their keys, without decoding them.
func poolMemberCount(tx *bolt.Tx, poolID string) int {
	n, prefix := 0, []byte(poolID+"/")
	c := tx.Bucket(bMembers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
		n++
	}
	return n
}

// projectMemberCount counts the members of every pool of the project; known gives one pool's
// count already taken.
func projectMemberCount(tx *bolt.Tx, projectID, knownPool string, known int) (int, error) {
	pools, err := scanRec[Pool](tx, bPools, "")
	n := 0
	for _, p := range pools {
		switch {
		case p.ProjectID != projectID:
		case p.ID == knownPool:
			n += known
		default:
			n += poolMemberCount(tx, p.ID)
		}
	}
	return n, err
}

// checkMemberQuotas refuses adding n members to pool p when the project's member quota or the
// pool's members_per_pool would be passed. Unlimited quotas are not counted at all.
func (s *Store) checkMemberQuotas(tx *bolt.Tx, p Pool, n int) error {
	q := s.quotas.For(p.ProjectID)
	if n == 0 || (q[QuotaMembersPerPool] == config.Unlimited && q[QuotaMember] == config.Unlimited) {
		return nil
	}
	inPool := poolMemberCount(tx, p.ID)
	if err := s.checkQuota(p.ProjectID, QuotaMembersPerPool, " of pool "+p.ID, inPool, n); err != nil {
		return err
	}
	if q[QuotaMember] == config.Unlimited {
		return nil
	}
	used, err := projectMemberCount(tx, p.ProjectID, p.ID, inPool)
	if err != nil {
		return err
	}
	return s.checkQuota(p.ProjectID, QuotaMember, " of project "+p.ProjectID, used, n)
}

// QuotaUsage is what the project uses of each quota elbd counts. For the per-parent quotas
// (members_per_pool, listeners_per_loadbalancer, listeners_per_pool) it is the fullest parent's
// count, the one closest to its limit.
func (s *Store) QuotaUsage(projectID string) (map[string]int, error) {
	return view(s, func(tx *bolt.Tx) (map[string]int, error) {
		u := map[string]int{}
		var err error
		if u[QuotaLoadBalancer], err = countProject[LoadBalancer](tx, bLoadBalancers, projectID, nil); err != nil {
			return nil, err
		}
		ls, err := scanRec[Listener](tx, bListeners, "")
		if err != nil {
			return nil, err
		}
		perLB := map[string]int{}
		for _, l := range ls {
			if l.ProjectID == projectID {
				u[QuotaListener]++
				perLB[l.LoadBalancerID]++
				u[QuotaListenersPerLoadBalancer] = max(u[QuotaListenersPerLoadBalancer], perLB[l.LoadBalancerID])
				if l.DefaultPoolID != "" {
					u[QuotaListenersPerPool] = 1 // a pool serves at most one listener in elbd
				}
			}
		}
		pools, err := scanRec[Pool](tx, bPools, "")
		if err != nil {
			return nil, err
		}
		for _, p := range pools {
			if p.ProjectID == projectID {
				u[QuotaPool]++
				n := poolMemberCount(tx, p.ID)
				u[QuotaMember] += n
				u[QuotaMembersPerPool] = max(u[QuotaMembersPerPool], n)
			}
		}
		u[QuotaHealthMonitor], err = countProject[HealthMonitor](tx, bHealthMonitors, projectID, nil)
		return u, err
	})
}

// checkListenerQuotas refuses a new listener l over the project's listener quota or its load
// balancer's listeners_per_loadbalancer.
func (s *Store) checkListenerQuotas(tx *bolt.Tx, l Listener) error {
	q := s.quotas.For(l.ProjectID)
	if q[QuotaListener] == config.Unlimited && q[QuotaListenersPerLoadBalancer] == config.Unlimited {
		return nil // not counted (every listener would be read)
	}
	ls, err := scanRec[Listener](tx, bListeners, "")
	if err != nil {
		return err
	}
	inProject, onLB := 0, 0
	for _, o := range ls {
		if o.ProjectID == l.ProjectID {
			inProject++
			if o.LoadBalancerID == l.LoadBalancerID {
				onLB++
			}
		}
	}
	if err := s.checkQuota(l.ProjectID, QuotaListenersPerLoadBalancer, " of load balancer "+l.LoadBalancerID, onLB, 1); err != nil {
		return err
	}
	return s.checkQuota(l.ProjectID, QuotaListener, " of project "+l.ProjectID, inProject, 1)
}
