// Package elbrules holds the ELB API's field rules that more than one program applies: the
// controller checks what it is about to send, elbctl what an operator typed, and elbd what it
// receives. Each rule cites the official SDK's model file that carries the API reference's text
// (github.com/huaweicloud/huaweicloud-sdk-go-v3/services/elb/{v3,v2}/model).
package elbrules

// Class is an ELB family: the value of a Service's kubernetes.io/elb.class, and which API
// (v2 or v3) programs the load balancer.
type Class string

const (
	// ClassUnion is a shared ELB, programmed through the ELB v2 API.
	ClassUnion Class = "union"
	// ClassPerformance is a dedicated ELB, programmed through the ELB v3 API.
	ClassPerformance Class = "performance"
)

// Member weight. services/elb/v3/model/model_create_member_option.go, Weight: 取值范围 0-100; a
// member of weight 0 takes no new connections (权重为0的后端不再接受新的请求). The v2 model
// (model_create_member_req.go) says the same.
const (
	MinWeight = 0
	MaxWeight = 100
)

// ValidWeight reports whether w is a member weight the ELB accepts.
func ValidWeight(w int) bool { return w >= MinWeight && w <= MaxWeight }

// Range is an inclusive range of integers.
type Range struct{ Min, Max int }

// Contains reports whether v lies in r.
func (r Range) Contains(v int) bool { return v >= r.Min && v <= r.Max }

// Port is a listener's or member's single port: services/elb/v3/model/model_create_listener_option.go
// protocol_port 取值范围 0-65535, where 0 asks for a port range (port_ranges) that fleetlb never
// uses; so 1-65535.
var Port = Range{1, 65535}

// ConnectionDrainTimeout is a v3 pool's connection_drain.timeout, in seconds
// (services/elb/v3/model/model_connection_drain.go: 取值范围 10~4000).
var ConnectionDrainTimeout = Range{10, 4000}

// Health monitor fields. services/elb/v3/model/model_create_health_monitor_option.go: delay
// 取值范围 1-50 (seconds), max_retries and max_retries_down 1-10; timeout has no range there
// (建议该值小于delay的值: it should be below delay), so it takes delay's 1-50, as CCE's
// health-check-option documents.
var (
	MonitorDelay          = Range{1, 50}
	MonitorTimeout        = Range{1, 50}
	MonitorMaxRetries     = Range{1, 10}
	MonitorMaxRetriesDown = Range{1, 10}
)

// Health monitor types (services/elb/v3/model/model_create_health_monitor_option.go, Type: a
// UDP pool takes UDP_CONNECT only, a TCP pool TCP, HTTP or HTTPS).
const (
	MonitorTCP        = "TCP"
	MonitorUDPConnect = "UDP_CONNECT" // the ELB's name for a UDP check
	MonitorHTTP       = "HTTP"
	MonitorHTTPS      = "HTTPS"
)

// Health monitor defaults. The API has none for delay, timeout and max_retries (默认取值: 不涉及),
// so whoever creates a monitor without being told picks these: a probe every 5 s, 3 s to answer
// (below delay, as the reference advises: 建议该值小于delay的值), 3 successes to mark a member up.
// The API's own defaults: max_retries_down 默认取值 3, http_method GET, expected_codes 200
// (services/elb/v3/model/model_create_health_monitor_option.go), url_path "/" (默认为"/",
// services/elb/v2/model/model_create_healthmonitor_req.go).
const (
	DefaultMonitorDelay          = 5
	DefaultMonitorTimeout        = 3
	DefaultMonitorMaxRetries     = 3
	DefaultMonitorMaxRetriesDown = 3
	DefaultMonitorURLPath        = "/"
	DefaultMonitorExpectedCodes  = "200"
	DefaultMonitorHTTPMethod     = "GET"
)

// MaxBatchMembers is the most members one batch call (BatchCreateMembers, BatchUpdateMembers,
// BatchDeleteMembers) may name: the ELB API reference's cap, which the SDK's models leave out
// (services/elb/v3/model/model_batch_create_members_request_body.go, Members: 约束限制: 不涉及).
// elbd refuses a larger batch; the controller and fleet operations split theirs by it.
const MaxBatchMembers = 200

// Pool algorithms served here. services/elb/v3/model/model_create_pool_option.go, LbAlgorithm
// (QUIC_CID and the tuple hashes are for QUIC and IP pools, which nothing here uses).
const (
	AlgorithmRoundRobin       = "ROUND_ROBIN"
	AlgorithmLeastConnections = "LEAST_CONNECTIONS"
	AlgorithmSourceIP         = "SOURCE_IP"
)

// Algorithms lists the pool algorithms in the order messages name them.
var Algorithms = []string{AlgorithmRoundRobin, AlgorithmLeastConnections, AlgorithmSourceIP}

// MaxNameLen and MaxDescriptionLen bound names and descriptions (in characters).
// services/elb/v3/model/model_create_load_balancer_option.go, Name and Description: 长度为[0-255]个字符;
// model_create_listener_option.go, Name: 长度为0-255个字符.
const (
	MaxNameLen        = 255
	MaxDescriptionLen = 255
)

// Tags of load balancers and listeners. services/elb/v3/model/model_change_resource_tag_option.go
// and model_resource_tag.go: key at most 36 unicode characters, value at most 255, neither with a
// non-printing character or any of TagForbidden; the API reference's tag management pages: at most
// 20 tags per resource. elbd enforces them; the fleet records (internal/common/fleetrecord) fit them.
const (
	MaxTagKeyLen     = 36
	MaxTagValueLen   = 255
	MaxTagsPerObject = 20
	TagForbidden     = `=*<>\,|/`
)

// TransparentClientIPOnlyTrue reports whether a listener's transparent_client_ip_enable (the
// client's address passed on to the members) can only be true, which is then also its default
// when not given: every listener of a dedicated load balancer, and a shared one's HTTP and HTTPS
// listeners. A shared load balancer's TCP and UDP listeners take true or false, default false.
// services/elb/v3/model/model_create_listener_option.go and model_update_listener_option.go,
// TransparentClientIpEnable 取值范围: 共享型LB的TCP/UDP监听器可设置为true或false，不传默认为false;
// 共享型LB的HTTP/HTTPS监听器只支持设置为true，不传默认为true; 独享型负载均衡器所有协议的监听器只支持
// 设置为true，不传默认为true. With it on, a server cannot be both a member and a client of the
// listener (不支持同一台服务器既作为后端服务器又作为客户端的场景).
func TransparentClientIPOnlyTrue(dedicated bool, protocol string) bool {
	return dedicated || protocol == "HTTP" || protocol == "HTTPS"
}
