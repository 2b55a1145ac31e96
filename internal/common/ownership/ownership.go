// Package ownership defines the ownership marks fleetlb writes on the ELB, so that a cluster that
// lost its own state still knows what it owns, and never touches what it does not. The format is
// shared by the controller (which writes and reads them), elbctl, elbd's console and the test bed
// (which read them): it is defined here once.
package ownership

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetlb/fleetlb/internal/common/elbrules"
)

// ServiceRef names a Service within one cluster.
type ServiceRef struct {
	ClusterID string // unique per cluster (default: kube-system namespace UID)
	Namespace string
	Name      string
}

// The marks:
//
// Member name (R13):           fleetlb/<cluster-id>/<namespace>/<service>/<port>
// Listener/pool description:   fleetlb/v1 multicluster=<true|false> cluster=<cluster-id> service=<namespace>/<service>
//
// <port> is the Service port (= listener port). A listener or pool whose description does not
// start with "fleetlb/v1 " has no mark: it was made by hand (S3) or by another tool.

const (
	memberPrefix = "fleetlb/"
	markPrefix   = "fleetlb/v1 "
	// MaxClusterIDLen keeps member names and descriptions within the ELB's 255 characters.
	MaxClusterIDLen = 64
)

// Mark is the owner recorded in a listener's or pool's description.
type Mark struct {
	MultiCluster bool
	ClusterID    string
	Namespace    string
	Service      string
}

// Creator is "<cluster-id>/<namespace>/<service>", for messages.
func (m Mark) Creator() string { return m.ClusterID + "/" + m.Namespace + "/" + m.Service }

// IsService reports whether the mark names exactly this cluster's Service.
func (m Mark) IsService(ref ServiceRef) bool {
	return m.ClusterID == ref.ClusterID && m.Namespace == ref.Namespace && m.Service == ref.Name
}

// MarkFor is the mark of a multi-cluster listener or pool created by ref.
func MarkFor(ref ServiceRef) Mark {
	return Mark{MultiCluster: true, ClusterID: ref.ClusterID, Namespace: ref.Namespace, Service: ref.Name}
}

// FormatMark renders m as a description.
func FormatMark(m Mark) string {
	return fmt.Sprintf("%smulticluster=%t cluster=%s service=%s/%s", markPrefix, m.MultiCluster, m.ClusterID, m.Namespace, m.Service)
}

// ParseMark reads a description written by FormatMark. ok is false for any other description.
func ParseMark(desc string) (m Mark, ok bool) {
	rest, found := strings.CutPrefix(desc, markPrefix)
	if !found {
		return Mark{}, false
	}
	var haveMC, haveCluster, haveSvc bool
	for _, field := range strings.Fields(rest) {
		k, v, found := strings.Cut(field, "=")
		if !found {
			return Mark{}, false
		}
		switch k {
		case "multicluster":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Mark{}, false
			}
			m.MultiCluster, haveMC = b, true
		case "cluster":
			m.ClusterID, haveCluster = v, v != ""
		case "service":
			ns, name, found := strings.Cut(v, "/")
			if !found || ns == "" || name == "" {
				return Mark{}, false
			}
			m.Namespace, m.Service, haveSvc = ns, name, true
		}
		// Unknown keys are ignored so that later versions can add fields.
	}
	if !haveMC || !haveCluster || !haveSvc {
		return Mark{}, false
	}
	return m, true
}

// MemberName is the name of a member cluster ref.ClusterID creates for Service ref on port.
func MemberName(ref ServiceRef, port int32) string {
	return fmt.Sprintf("%s%s/%s/%s/%d", memberPrefix, ref.ClusterID, ref.Namespace, ref.Name, port)
}

// ParseMemberName reads a name written by MemberName. ok is false for any other name (VMs,
// members of other tools).
func ParseMemberName(name string) (ref ServiceRef, port int32, ok bool) {
	rest, found := strings.CutPrefix(name, memberPrefix)
	if !found {
		return ServiceRef{}, 0, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return ServiceRef{}, 0, false
	}
	for _, p := range parts {
		if p == "" {
			return ServiceRef{}, 0, false
		}
	}
	p, err := strconv.ParseInt(parts[3], 10, 32)
	if err != nil || !elbrules.Port.Contains(int(p)) {
		return ServiceRef{}, 0, false
	}
	return ServiceRef{ClusterID: parts[0], Namespace: parts[1], Name: parts[2]}, int32(p), true
}

// CheckClusterID says what is wrong with a cluster ID as a component of the ownership marks
// (member names, descriptions), or returns nil. The controller checks --cluster-id at start.
func CheckClusterID(id string) error {
	if msg := ClusterIDProblem(id); msg != "" {
		return fmt.Errorf("%s; use 1–%d characters without '/', '=' or spaces", msg, MaxClusterIDLen)
	}
	return nil
}

// ClusterIDProblem reports what is wrong with a cluster ID as a mark component, or "".
func ClusterIDProblem(id string) string {
	switch {
	case id == "":
		return "the cluster ID is empty"
	case len(id) > MaxClusterIDLen:
		return fmt.Sprintf("the cluster ID %q is longer than %d characters", id, MaxClusterIDLen)
	case strings.ContainsAny(id, "/ \t\n="):
		return fmt.Sprintf("the cluster ID %q contains '/', '=' or white space", id)
	}
	return ""
}
