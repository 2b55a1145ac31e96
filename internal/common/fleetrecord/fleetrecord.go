// Package fleetrecord is the owner record each cluster keeps on a shared listener (T10): one
// listener tag per owner cluster with its requested weight for that listener, a heartbeat time and
// its install ID. Tags change no traffic, and every controller of the fleet can read them, so they
// are how the clusters see each other (the fleet view, T12), find owners that vanished (T13) and two
// installs that share one cluster ID (T15). Pure: no I/O.
//
// The real API's tag rules (services/elb/v3/model/model_change_resource_tag_option.go and
// model_resource_tag.go: key at most 36 unicode characters, value at most 255, neither with
// = * < > \ , | / or a non-printing character; the API reference's tag pages: at most 20 tags per
// listener) shape the record:
//
//	key:   fleetlb.o.<16 hex digits of SHA-256(cluster ID)>   (26 characters; a cluster ID has up to 64)
//	value: v1;c:<cluster ID, %-escaped>;w:<weight>;t:<unix seconds>;i:<install ID>
//
// Past 20 tags a listener has no room for another owner's record (Room): that owner keeps
// serving, its controller raises a Warning and a metric, and the view shows it as unknown.
package fleetrecord

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// Tag limits of the real API (elbrules; see the package comment for the model files).
const (
	MaxKeyLen        = elbrules.MaxTagKeyLen
	MaxValueLen      = elbrules.MaxTagValueLen
	MaxTagsPerObject = elbrules.MaxTagsPerObject
	forbidden        = elbrules.TagForbidden
)

// Defaults of the controller's flags.
const (
	// DefaultHeartbeat is how often a controller refreshes its records (--fleet-heartbeat).
	DefaultHeartbeat = time.Minute
	// DefaultTTL is how old a heartbeat may be before its owner is stale (--fleet-stale-after).
	DefaultTTL = 10 * time.Minute
)

const (
	keyPrefix = "fleetlb.o."
	version   = "v1"
)

// Record is one owner cluster's record on one listener.
type Record struct {
	ClusterID string
	Weight    int       // the cluster weight W it requested for this listener
	Heartbeat time.Time // when it last wrote (its clock), whole seconds
	InstallID string    // random, made once per install (NewInstallID)
}

// Tag is a listener tag (elbclient.Tag has the same shape).
type Tag struct{ Key, Value string }

// Key is the tag key of clusterID's record: a hash, because a cluster ID may be longer than a key.
func Key(clusterID string) string {
	sum := sha256.Sum256([]byte(clusterID))
	return keyPrefix + hex.EncodeToString(sum[:8])
}

// IsKey reports whether a tag key is one of fleetlb's records (whoever's).
func IsKey(key string) bool { return strings.HasPrefix(key, keyPrefix) }

// Encode returns r as a tag. It fails when r cannot be a valid tag (an empty cluster or install ID,
// a weight outside 0-100, an install ID with characters outside [0-9a-z]).
func Encode(r Record) (Tag, error) {
	switch {
	case r.ClusterID == "":
		return Tag{}, fmt.Errorf("fleet record without a cluster ID")
	case r.Weight < 0 || r.Weight > 100:
		return Tag{}, fmt.Errorf("fleet record of cluster %q: weight %d is outside 0-100", r.ClusterID, r.Weight)
	case !validInstallID(r.InstallID):
		return Tag{}, fmt.Errorf("fleet record of cluster %q: install ID %q is not 1-32 characters of [0-9a-z]", r.ClusterID, r.InstallID)
	}
	v := fmt.Sprintf("%s;c:%s;w:%d;t:%d;i:%s", version, escape(r.ClusterID), r.Weight, r.Heartbeat.Unix(), r.InstallID)
	if len([]rune(v)) > MaxValueLen {
		return Tag{}, fmt.Errorf("fleet record of cluster %q is %d characters long; a tag value holds %d", r.ClusterID, len([]rune(v)), MaxValueLen)
	}
	return Tag{Key: Key(r.ClusterID), Value: v}, nil
}

// Decode reads a record tag. ok is false for any other tag (foreign tags, other versions, a
// value whose cluster ID does not hash to its key): such tags are ignored, never an error.
func Decode(t Tag) (Record, bool) {
	if !IsKey(t.Key) {
		return Record{}, false
	}
	fields := strings.Split(t.Value, ";")
	if len(fields) == 0 || fields[0] != version {
		return Record{}, false
	}
	var r Record
	var haveW, haveT bool
	for _, f := range fields[1:] {
		k, v, found := strings.Cut(f, ":")
		if !found {
			return Record{}, false
		}
		switch k {
		case "c":
			id, ok := unescape(v)
			if !ok {
				return Record{}, false
			}
			r.ClusterID = id
		case "w":
			w, err := strconv.Atoi(v)
			if err != nil || w < 0 || w > 100 {
				return Record{}, false
			}
			r.Weight, haveW = w, true
		case "t":
			s, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Record{}, false
			}
			r.Heartbeat, haveT = time.Unix(s, 0).UTC(), true
		case "i":
			r.InstallID = v
		}
		// Unknown fields are ignored so that later versions can add some.
	}
	if r.ClusterID == "" || !haveW || !haveT || !validInstallID(r.InstallID) || Key(r.ClusterID) != t.Key {
		return Record{}, false
	}
	return r, true
}

// Records decodes every record among a listener's tags, by cluster ID, ignoring other tags.
func Records(tags []Tag) map[string]Record {
	out := map[string]Record{}
	for _, t := range tags {
		if r, ok := Decode(t); ok {
			out[r.ClusterID] = r
		}
	}
	return out
}

// Room reports whether clusterID's record can be written on a listener with these tags: its key
// is there already (an update), or the listener has fewer than MaxTagsPerObject tags.
func Room(tags []Tag, clusterID string) bool {
	key := Key(clusterID)
	return len(tags) < MaxTagsPerObject || slices.ContainsFunc(tags, func(t Tag) bool { return t.Key == key })
}

// Requested reads the owner records among a listener's tags: each owner cluster's requested
// weight, and which owners are stale at now (heartbeat older than ttl). For the views that name
// owners (elbctl listener show/top, elbd's console).
func Requested(tags []Tag, now time.Time, ttl time.Duration) (weights map[string]int, stale map[string]bool) {
	weights, stale = map[string]int{}, map[string]bool{}
	for id, r := range Records(tags) {
		weights[id] = r.Weight
		if r.Stale(now, ttl) {
			stale[id] = true
		}
	}
	return weights, stale
}

// Stale reports whether r's heartbeat is older than ttl at now.
func (r Record) Stale(now time.Time, ttl time.Duration) bool {
	return now.Sub(r.Heartbeat) > ttl
}

// escape %-encodes what a tag value may not hold and the record's own separators.
func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x21 || c == 0x7f || c >= 0x80 || strings.IndexByte(forbidden+";:%", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), true
}

func validInstallID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
