package config

import (
	"fmt"
	"math"
)

// RateLimit is a request rate allowed to one access key (E3): a token bucket refilled at
// RequestsPerSecond, holding up to Burst requests.
type RateLimit struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// Burst is how many requests may come at once; 0 means RequestsPerSecond rounded up (at least 1).
	Burst int `json:"burst"`
}

// BurstOrDefault is Burst, or its default when 0.
func (l RateLimit) BurstOrDefault() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, int(math.Ceil(l.RequestsPerSecond)))
}

func validateRateLimit(where string, l *RateLimit, add func(string, ...any)) {
	if l == nil {
		return
	}
	if !(l.RequestsPerSecond > 0) || math.IsInf(l.RequestsPerSecond, 0) {
		add("%s.requestsPerSecond is %v; set a rate above 0 (requests per second per access key), or leave %s out for no limit", where, l.RequestsPerSecond, where)
	}
	if l.Burst < 0 {
		add("%s.burst is %d; set 1 or more, or leave it out for requestsPerSecond rounded up", where, l.Burst)
	}
}

// RateLimitFor is the rate allowed to accessKey: its credential's own rateLimit, else the
// top-level one; nil when neither is set (no limit, the default).
func (c *Config) RateLimitFor(accessKey string) *RateLimit {
	for _, cr := range c.Credentials {
		if cr.AccessKey == accessKey && cr.RateLimit != nil {
			return cr.RateLimit
		}
	}
	return c.RateLimit
}

func (c *Config) validateRateLimits(add func(string, ...any)) {
	validateRateLimit("rateLimit", c.RateLimit, add)
	for i, cr := range c.Credentials {
		validateRateLimit(fmt.Sprintf("credentials[%d].rateLimit", i), cr.RateLimit, add)
	}
}
