package config

import (
	"slices"
	"time"
)

// Faults is the `faults:` section, the test-only fault injector (internal/elbd/faults, F6): a
// fraction of API calls answered as the real cloud's API sometimes answers them. Absent, the
// default, nothing is injected. Each fraction is of all calls (busy: of writes only), and
// together they are at most 1.
type Faults struct {
	// Seed seeds the random choice, so a run with calls in the same order is repeatable.
	Seed uint64 `json:"seed"`
	// Busy: 409 "Invalid state PENDING_UPDATE of loadbalancer resource ..." (writes only).
	Busy float64 `json:"busy"`
	// ServerError: 500 ELB.0001; the call is not made.
	ServerError float64 `json:"serverError"`
	// Throttle: 429 APIG.0308; the call is not made.
	Throttle float64 `json:"throttle"`
	// Timeout: the call is held for TimeoutHold (past the client's timeout), not made, and its
	// connection closed without a reply.
	Timeout float64 `json:"timeout"`
	// LostResponse: the call is made and committed, then its connection closed without a reply.
	LostResponse float64 `json:"lostResponse"`
	// TimeoutHold is how long a Timeout call is held (a Go duration); default 35s, past the
	// 30 s timeout of elbclient (elbclient.Config.Timeout) and of the official SDK.
	TimeoutHold string `json:"timeoutHold"`
	// AccessKeys, when set, limits the faults to calls signed with these keys (a watcher's key
	// left out reads the truth); empty: every call may be faulted.
	AccessKeys []string `json:"accessKeys"`
}

// DefaultTimeoutHold is how long a Timeout fault holds a call when timeoutHold is not set.
const DefaultTimeoutHold = 35 * time.Second

// Hold is TimeoutHold as a duration (validated), or DefaultTimeoutHold.
func (f Faults) Hold() time.Duration {
	d, err := time.ParseDuration(f.TimeoutHold)
	if err != nil || d <= 0 {
		return DefaultTimeoutHold
	}
	return d
}

func (c *Config) validateFaults(add func(string, ...any)) {
	f := c.Faults
	if f == nil {
		return
	}
	sum := 0.0
	for _, p := range []struct {
		name string
		v    float64
	}{{"busy", f.Busy}, {"serverError", f.ServerError}, {"throttle", f.Throttle}, {"timeout", f.Timeout}, {"lostResponse", f.LostResponse}} {
		if !(p.v >= 0 && p.v <= 1) {
			add("faults.%s is %v; set a fraction of calls from 0 to 1 (0.05 = 5%%)", p.name, p.v)
			continue
		}
		sum += p.v
	}
	if sum > 1 {
		add("faults: the fractions add up to %v; together they must be at most 1 (every call gets at most one fault)", sum)
	}
	if f.TimeoutHold != "" {
		if d, err := time.ParseDuration(f.TimeoutHold); err != nil || d <= 0 {
			add("faults.timeoutHold %q is not a positive duration such as 35s", f.TimeoutHold)
		}
	}
	for i, k := range f.AccessKeys {
		if !slices.ContainsFunc(c.Credentials, func(cr Credential) bool { return cr.AccessKey == k }) {
			add("faults.accessKeys[%d] %q is not an access key of credentials; list keys from credentials, or leave accessKeys out to fault every call", i, k)
		}
	}
}
