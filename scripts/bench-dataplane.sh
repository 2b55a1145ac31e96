#!/usr/bin/env bash
# bench-dataplane.sh — `make bench-dataplane`: the same loopback backends served four ways
# (direct, through elbd's proxy, through HAProxy, through elbd --dataplane kernel), measured
# with wrk (a new connection per request, and keep-alive) and iperf3 (bulk throughput). Prints
# a table with the ratios elbd/HAProxy, elbd/direct and kernel/direct.
#
# The kernel data plane programs nftables in a network namespace of its own, and its clients
# must be in that namespace: run as root, the whole bench (backends, HAProxy, both elbds, wrk,
# iperf3) runs in the namespace fleetlb-bench, so every mode has the same client, backends and
# loopback. Conntrack is on in that namespace for every mode (the kernel mode's nat table needs
# it); its TIME_WAIT timeout there is 10 s so that the new-connection runs never fill the
# conntrack table. The kernel mode's members are the same backend process on addresses of their
# own (K1, K2 below says why); its listeners are a dedicated (v3) load balancer's, so they keep the
# client's address (transparent_client_ip_enable, DNAT only, K12), what every v3 listener does as
# on the real cloud. Without root the kernel column is left out.
#
# Every mode is measured BENCH_ROUNDS times (default 5), interleaved, BENCH_DURATION seconds
# each (default 6), and the median is reported: the machine is shared, and interleaving
# gives every mode the same share of the noise.
#
# elbd is the real bin/elbd, configured through its API with bin/elbctl. If that elbd does
# not forward traffic (a build whose data plane is not wired yet), the script says so and
# measures the same data plane through bin/bench-lb (internal/elbd/dataplane/bench/lb).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
DUR=${BENCH_DURATION:-6}
ROUNDS=${BENCH_ROUNDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}
NPROC=$(nproc)

say() { printf '%s\n' "$*" >&2; }


# --- tools -----------------------------------------------------------------------------
missing=()
for t in haproxy wrk iperf3 curl; do command -v "$t" >/dev/null || missing+=("$t"); done
if ((${#missing[@]})); then
	say "installing ${missing[*]} from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

go build -o "$BIN/bench-backend" ./internal/elbd/dataplane/bench/backend
go build -o "$BIN/bench-lb" ./internal/elbd/dataplane/bench/lb

# The namespace (after the tools and builds, which need the network).
BENCH_NS=fleetlb-bench
if [ "$(id -u)" = 0 ] && [ -z "${BENCH_IN_NETNS:-}" ] && command -v ip >/dev/null; then
	ip netns del "$BENCH_NS" 2>/dev/null || true
	ip netns add "$BENCH_NS"
	ip -n "$BENCH_NS" link set lo up
	ip netns exec "$BENCH_NS" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=10 2>/dev/null || true
	rc=0
	BENCH_IN_NETNS=1 ip netns exec "$BENCH_NS" "$0" "$@" || rc=$?
	ip netns del "$BENCH_NS"
	exit $rc
fi

# --- addresses -------------------------------------------------------------------------
B1=127.60.1.1 B2=127.60.1.2 # HTTP backends, weights 80:20 behind the load balancers
# The same backend process also listens on K1 and K2 for the kernel mode's members, and a second
# iperf3 server on K1 is its bulk member. Its listeners keep the client's address (DNAT only, K12),
# and with it "a server cannot be both a member and a client" (the cloud's own limit): a client that
# also connects to a member directly from the same address clashes in conntrack with its flows
# through the VIP (SYNs dropped), and its connections to the VIP carry another TCP timestamp offset
# than its direct ones, so a SYN meeting a TIME_WAIT socket that direct, proxy or HAProxy
# connections left on B1 is refused as old and retried after 1 s (measured on shared addresses:
# 1,782 SYN retransmits in 4 s, 0.07x direct). So no other mode ever connects to a kernel member:
# the same client (address 127.0.0.1, as for every mode) meets no clash, and the kernel mode is
# measured as a dedicated load balancer's listener is served by default, rather than with the
# extra SNAT of a shared one (full NAT, K11) or from a client address no other mode has.
K1=127.60.2.1 K2=127.60.2.2
KIPERF=$K1:5201 # the kernel mode's iperf3 server
W1=80 W2=20
IPERF=127.60.1.1:5201      # the iperf3 server (one member: iperf3 needs both its connections on it)
ELB_VIP=127.60.0.10
HAP_VIP=127.60.0.20
KERNEL_VIP=127.60.0.30
HTTP_PORT=8080
BULK_PORT=5201

WORK=$(mktemp -d /tmp/bench-dataplane.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
declare -A PID
start() { # start NAME CMD... — runs in the background, logs to $WORK/NAME.log
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	PID[$name]=$!
}
wait_http() { # wait_http URL — up to 10 s
	for _ in $(seq 100); do
		curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- backends --------------------------------------------------------------------------
start backend "$BIN/bench-backend" -listen "$B1:$HTTP_PORT,$B2:$HTTP_PORT,$K1:$HTTP_PORT,$K2:$HTTP_PORT"
start iperf3 timeout 1800 iperf3 -s -B "${IPERF%:*}" -p "${IPERF#*:}"
start kiperf3 timeout 1800 iperf3 -s -B "${KIPERF%:*}" -p "${KIPERF#*:}"
wait_http "http://$B1:$HTTP_PORT/" || { say "backend did not start: $(cat "$WORK/backend.log")"; exit 1; }

# --- HAProxy: TCP mode, same weights, nbthread = cores ---------------------------------
cat >"$WORK/haproxy.cfg" <<CFG
global
    nbthread $NPROC
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
listen http
    bind $HAP_VIP:$HTTP_PORT
    balance roundrobin
    server b1 $B1:$HTTP_PORT weight $W1
    server b2 $B2:$HTTP_PORT weight $W2
listen bulk
    bind $HAP_VIP:$BULK_PORT
    server iperf $IPERF
CFG
start haproxy "$HAPROXY" -f "$WORK/haproxy.cfg" -db
wait_http "http://$HAP_VIP:$HTTP_PORT/" || { say "haproxy did not start: $(cat "$WORK/haproxy.log")"; exit 1; }

# --- elbd, configured through its API --------------------------------------------------
ELBD_NOTE="bin/elbd configured with bin/elbctl"
start_elbd() { # start_elbd NAME API-ADDRESS VIP MEMBER1 MEMBER2 BULK-MEMBER [elbd flags...]
	[ -x "$BIN/elbd" ] && [ -x "$BIN/elbctl" ] || return 1
	local name=$1 api=$2 vip=$3 m1=$4 m2=$5 bulk=$6
	shift 6
	cat >"$WORK/elbd.yaml" <<CFG
credentials:
- accessKey: BENCHACCESSKEY
  secretKey: bench-secret-key-not-a-secret
  projectID: benchproject
vpcs:
- id: vpc-bench
  cidr: 127.60.0.0/16
  subnets:
  - id: subnet-bench
    cidr: 127.60.0.0/16
CFG
	start "$name" "$BIN/elbd" --config "$WORK/elbd.yaml" --data-dir "$WORK/$name-data" --api-address "$api" --log-level warn "$@"
	export ELB_ENDPOINT=http://$api HUAWEICLOUD_SDK_AK=BENCHACCESSKEY HUAWEICLOUD_SDK_SK=bench-secret-key-not-a-secret HUAWEICLOUD_SDK_PROJECT_ID=benchproject
	local ok=
	for _ in $(seq 100); do
		if "$BIN/elbctl" lb list >/dev/null 2>&1; then ok=1; break; fi
		sleep 0.1
	done
	[ -n "$ok" ] || { say "$name API did not come up: $(tail -5 "$WORK/$name.log")"; return 1; }
	id() { sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' | head -1; }
	local lb l p
	lb=$("$BIN/elbctl" -o json lb create --name bench --vip-subnet-id subnet-bench --vip-address "$vip" | id)
	l=$("$BIN/elbctl" -o json listener create --lb "$lb" --protocol TCP --port "$HTTP_PORT" | id)
	p=$("$BIN/elbctl" -o json pool create --listener "$l" --protocol TCP --algorithm ROUND_ROBIN | id)
	"$BIN/elbctl" member add --pool "$p" --address "$m1" --port "$HTTP_PORT" --weight "$W1" --subnet-id subnet-bench >/dev/null
	"$BIN/elbctl" member add --pool "$p" --address "$m2" --port "$HTTP_PORT" --weight "$W2" --subnet-id subnet-bench >/dev/null
	l=$("$BIN/elbctl" -o json listener create --lb "$lb" --protocol TCP --port "$BULK_PORT" | id)
	p=$("$BIN/elbctl" -o json pool create --listener "$l" --protocol TCP | id)
	"$BIN/elbctl" member add --pool "$p" --address "${bulk%:*}" --port "${bulk#*:}" --weight 1 --subnet-id subnet-bench >/dev/null
	wait_http "http://$vip:$HTTP_PORT/"
}
ELBD_PROC=elbd
if ! start_elbd elbd 127.60.0.1:19080 "$ELB_VIP" "$B1" "$B2" "$IPERF"; then
	ELBD_PROC=bench-lb
	ELBD_NOTE="bin/bench-lb (same data plane, no API): bin/elbd did not forward traffic"
	say "NOTE: $ELBD_NOTE"
	start bench-lb "$BIN/bench-lb" \
		-listener "$ELB_VIP:$HTTP_PORT=$B1:$HTTP_PORT*$W1,$B2:$HTTP_PORT*$W2" \
		-listener "$ELB_VIP:$BULK_PORT=$IPERF"
	wait_http "http://$ELB_VIP:$HTTP_PORT/" || { say "bench-lb did not start: $(cat "$WORK/bench-lb.log")"; exit 1; }
fi
MODES=(direct elbd haproxy)
# The kernel data plane: a second elbd, same backends and weights, in this namespace.
if [ -n "${BENCH_IN_NETNS:-}" ] && [ "$ELBD_PROC" = elbd ]; then
	if start_elbd kernel 127.60.0.1:19081 "$KERNEL_VIP" "$K1" "$K2" "$KIPERF" --dataplane kernel --netns "$BENCH_NS" &&
		! grep -q "CAP_NET_ADMIN\|kernel data plane cannot start" "$WORK/kernel.log"; then
		MODES+=(kernel)
	else
		say "NOTE: elbd --dataplane kernel did not start: $(tail -3 "$WORK/kernel.log")"
	fi
else
	say "NOTE: no kernel column: run as root (the bench then runs in network namespace $BENCH_NS)"
fi

# --- measurements ----------------------------------------------------------------------
# Besides throughput, three costs are recorded, all far less sensitive than req/s to what
# else runs on the machine: the proxy's own CPU time per request (user + system, from
# /proc/PID/stat); the bench's CPU time per request or per GB, that is the client's (wrk or
# iperf3, from the shell's `times`), the backend's and the proxy's together (on loopback
# the kernel's TCP, conntrack and NAT work runs mostly in the context of these processes,
# so this is what a mode costs, whatever the other processes of a shared machine do); and
# the whole machine's busy CPU time per request or per GB (/proc/stat, other processes
# included). On a machine whose cores are all busy, the cost is what decides throughput.
declare -A PROC=([elbd]=${PID[$ELBD_PROC]} [haproxy]=${PID[haproxy]} [kernel]=${PID[kernel]:-})
cpu_ticks() { [ -n "${1:-}" ] && awk '{print $14+$15}' "/proc/$1/stat" || echo 0; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
IPERF_SERVER=$(pgrep -P "${PID[iperf3]}" iperf3 || echo "${PID[iperf3]}")
KIPERF_SERVER=$(pgrep -P "${PID[kiperf3]}" iperf3 || echo "${PID[kiperf3]}")
server_ticks() { # the backends' (HTTP, both iperf3: the idle one costs nothing) and the load balancer's CPU ticks
	echo $(($(cpu_ticks "${PID[backend]}") + $(cpu_ticks "$IPERF_SERVER") + $(cpu_ticks "$KIPERF_SERVER") + $(cpu_ticks "${1:-}")))
}
# The client's CPU: `times` after it in the same subshell prints the subshell's own user and
# system time, then its children's (NmS.SSSs NmS.SSSs); client_secs adds up the last such line.
CLIENT_SECS='/^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/{cl=0; for (i=1;i<=2;i++) {split($i,a,/[ms]/); cl+=a[1]*60+a[2]}}'
TCK=$(getconf CLK_TCK)
declare -A ADDR=([direct]=$B1 [elbd]=$ELB_VIP [haproxy]=$HAP_VIP [kernel]=$KERNEL_VIP)
declare -A BULK=([direct]=$IPERF [elbd]=$ELB_VIP:$BULK_PORT [haproxy]=$HAP_VIP:$BULK_PORT [kernel]=$KERNEL_VIP:$BULK_PORT)
wrk_run() { # wrk_run PID URL [header] — prints "req/s proxy-CPU-µs/request machine-CPU-µs/request bench-CPU-µs/request"
	local pid=$1 url=$2 out c0 c1 m0 m1 s0 s1
	shift 2
	local hdr=()
	[ $# -gt 0 ] && hdr=(-H "$1")
	c0=$(cpu_ticks "$pid") m0=$(machine_ticks) s0=$(server_ticks "$pid")
	out=$(timeout $((DUR + 30)) wrk -t2 -c"$CONNS" -d"${DUR}s" "${hdr[@]}" "$url"; times)
	c1=$(cpu_ticks "$pid") m1=$(machine_ticks) s1=$(server_ticks "$pid")
	if grep -q "Socket errors\|Non-2xx" <<<"$out"; then say "wrk $url: $(grep 'Socket errors\|Non-2xx' <<<"$out")"; fi
	awk -v c0="$c0" -v c1="$c1" -v m0="$m0" -v m1="$m1" -v s0="$s0" -v s1="$s1" -v t="$TCK" "$CLIENT_SECS"' /requests in/{n=$1} /Requests\/sec/{r=$2}
		END{printf "%s %.1f %.1f %.1f\n", r, (n > 0) ? (c1-c0)/t*1e6/n : 0, (n > 0) ? (m1-m0)/t*1e6/n : 0, (n > 0) ? ((s1-s0)/t+cl)*1e6/n : 0}' <<<"$out"
}
iperf_run() { # iperf_run HOST:PORT PID — prints "receiver-Gbit/s machine-CPU-ms/GB bench-CPU-ms/GB"
	local out m0 m1 s0 s1
	m0=$(machine_ticks) s0=$(server_ticks "${2:-}")
	out=$(timeout $((DUR + 30)) iperf3 -c "${1%:*}" -p "${1#*:}" -t "$DUR" -f g; times)
	m1=$(machine_ticks) s1=$(server_ticks "${2:-}")
	awk -v m0="$m0" -v m1="$m1" -v s0="$s0" -v s1="$s1" -v t="$TCK" -v d="$DUR" "$CLIENT_SECS"' /receiver/{g=$(NF-2)}
		END{gb = g*d/8; printf "%s %.1f %.1f\n", g, (g > 0) ? (m1-m0)/t*1e3/gb : 0, (g > 0) ? ((s1-s0)/t+cl)*1e3/gb : 0}' <<<"$out"
}
median() { sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Each round starts with another mode (round 2 with the second, ...), so that no mode always
# follows the same one and inherits its TIME_WAIT sockets, conntrack entries and timers.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R C W B
n=${#MODES[@]}
for round in $(seq "$ROUNDS"); do
	for i in $(seq 0 $((n - 1))); do
		m=${MODES[$(((round - 1 + i) % n))]}
		say "round $round/$ROUNDS: $m (load $(cut -d' ' -f1 /proc/loadavg))"
		read -r rps cpu mach own < <(wrk_run "${PROC[$m]:-}" "http://${ADDR[$m]}:$HTTP_PORT/" 'Connection: close')
		R[$m,close]+="$rps " C[$m,close]+="$cpu " W[$m,close]+="$mach " B[$m,close]+="$own "
		read -r rps cpu mach own < <(wrk_run "${PROC[$m]:-}" "http://${ADDR[$m]}:$HTTP_PORT/")
		R[$m,keepalive]+="$rps " C[$m,keepalive]+="$cpu " W[$m,keepalive]+="$mach " B[$m,keepalive]+="$own "
		read -r gbps mach own < <(iperf_run "${BULK[$m]}" "${PROC[$m]:-}")
		R[$m,bulk]+="$gbps " W[$m,bulk]+="$mach " B[$m,bulk]+="$own "
	done
done

declare -A M U X O
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
for m in "${MODES[@]}"; do
	for k in close keepalive bulk; do
		M[$m,$k]=$(med "${R[$m,$k]}")
		X[$m,$k]=$(med "${W[$m,$k]}")
		O[$m,$k]=$(med "${B[$m,$k]}")
	done
	for k in close keepalive; do
		U[$m,$k]=$(med "${C[$m,$k]:-}")
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else print "n/a" }'; }

echo
echo "bench-dataplane: $NPROC cores, wrk -t2 -c$CONNS -d${DUR}s, iperf3 -t $DUR, median of $ROUNDS interleaved rounds (each starting with another mode)"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); load average before and after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "elbd: $ELBD_NOTE; weights $W1:$W2 over two Go HTTP backends"
printf '%-36s %10s %10s %10s %10s %14s %12s %14s\n' "measure" "direct" "elbd" "haproxy" "kernel" "elbd/haproxy" "elbd/direct" "kernel/direct"
row() { # row LABEL KEY ARRAY FORMAT — the ratios compare elbd and kernel to the others
	local -n a=$3
	local k=${a[kernel,$2]:-}
	printf "%-36s %10$4 %10$4 %10$4 %10s %14s %12s %14s\n" "$1" "${a[direct,$2]}" "${a[elbd,$2]}" "${a[haproxy,$2]}" \
		"$([ -n "$k" ] && printf "%$4" "$k" || echo -)" \
		"$(ratio "${a[elbd,$2]}" "${a[haproxy,$2]}")" "$(ratio "${a[elbd,$2]}" "${a[direct,$2]}")" "$(ratio "${k:-0}" "${a[direct,$2]}")"
}
row "(a) new conn/request (req/s)" close M .0f
row "(b) keep-alive (req/s)" keepalive M .0f
row "(c) iperf3 bulk (Gbit/s)" bulk M .1f
for k in close keepalive bulk; do # the spread behind each median, in round order
	printf '%-36s' "  $k, each round:"
	for m in "${MODES[@]}"; do printf ' %s: %s' "$m" "$(awk '{$1=$1; gsub(/ /, "/"); print}' <<<"${R[$m,$k]}")"; done
	echo
done
echo "costs (lower is better; the ratio is elbd/haproxy, below 1.00x elbd costs less):"
for k in close keepalive; do
	printf '%-36s %10s %10.1f %10.1f %10s %14s\n' "proxy CPU us/request ($k)" "-" "${U[elbd,$k]}" "${U[haproxy,$k]}" "-" "$(ratio "${U[elbd,$k]}" "${U[haproxy,$k]}")"
done
for k in close keepalive; do
	row "machine CPU us/request ($k)" $k X .1f
done
row "machine CPU ms/GB (bulk)" bulk X .1f
for k in close keepalive; do
	row "bench CPU us/request ($k)" $k O .1f
done
row "bench CPU ms/GB (bulk)" bulk O .1f
# What bulk can reach at most through each proxy: every core of the machine busy at the
# measured CPU cost per GB (the client, the proxy and the server all share these cores).
for m in elbd haproxy; do
	awk -v n="$NPROC" -v c="${X[$m,bulk]}" -v d="${M[direct,bulk]}" -v m="$m" 'BEGIN{ if (c > 0 && d > 0) {
		g = n * 1000 / c * 8; printf "bulk bound for %s: all %d cores busy at %.1f ms/GB move %.1f Gbit/s = %.2fx direct\n", m, n, c, g, g / d } }'
done
echo "goal: elbd/haproxy >= 1.00x on (a) and (b); elbd/direct >= 0.80x on (c); kernel/direct >= 0.90x on (a), (b) and (c)"
