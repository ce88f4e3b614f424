# SPDX-License-Identifier: MIT
# lib_dqlite.sh: a dqlite cluster on loopback for e2e tests: go-dqlite's
# dqlite-demo nodes (as tests/unit/test_dqlite.c runs them) and SQL through
# the `dqlite` shell. Sourced after lib.sh. Skips (77) without the tools.
# With DQ_LAUNCHER=hq set before sourcing, the nodes are hq's own
# hq-dqlite-node (HQ_DQLITE_NODE, which ctest passes where it was built).

DQ_LAUNCHER=${DQ_LAUNCHER:-demo}
DQ_DEMO=${HQ_DQLITE_DEMO:-$(command -v dqlite-demo || true)}
DQ_SHELL=$(command -v dqlite || true)
if [ -z "$DQ_SHELL" ]; then
	echo "SKIP: the dqlite shell not found (Debian: apt-get install" \
	    "go-dqlite)"
	exit 77
fi
if [ "$DQ_LAUNCHER" = demo ] && [ -z "$DQ_DEMO" ]; then
	echo "SKIP: dqlite-demo not found (Debian: apt-get install go-dqlite)"
	exit 77
fi
if [ "$DQ_LAUNCHER" = hq ] && [ ! -x "${HQ_DQLITE_NODE:-}" ]; then
	echo "SKIP: hq-dqlite-node not built (libdqlite-dev missing at" \
	    "configure time)"
	exit 77
fi

DQ_ADDR=()	# database address of node i
DQ_API=()	# its readiness address: the demo's HTTP port; for
		# hq-dqlite-node its database port
DQ_ARGS=()	# hq-dqlite-node: extra arguments of node i
DQ_PID=()

# A node may take its time over TERM (hq_cleanup's signal for helpers) or
# hang in it, outliving the test: the nodes get KILL first. The test's
# status is kept for hq_cleanup.
dq__cleanup() {
	local rc=$? pid
	for pid in "${DQ_PID[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	(exit "$rc")
	hq_cleanup
}
trap dq__cleanup EXIT

dq__port() {
	# The kernel's pick of a free loopback port (it could be taken again
	# before the node binds it; the start then fails and says so).
	perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(Listen => 1,
	    LocalAddr => "127.0.0.1", LocalPort => 0) or die "$!";
	    print $s->sockport'
}

dq__api_up() {
	kill -0 "${DQ_PID[$1]}" 2>/dev/null || fail "node $1 exited"
	perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr =>
	    $ARGV[0]) or exit 1' "${DQ_API[$1]}"
}

# dq_node_spawn I [JOIN]: start (or restart, same data) node I, without
# waiting: a restarted node is ready only once a quorum is up.
dq_node_spawn() {
	local i=$1 join=${2:-}
	if [ -z "${DQ_ADDR[$i]:-}" ]; then
		DQ_ADDR[$i]=127.0.0.1:$(dq__port)
		DQ_API[$i]=127.0.0.1:$(dq__port)
		[ "$DQ_LAUNCHER" = demo ] || DQ_API[$i]=${DQ_ADDR[$i]}
	fi
	if [ "$DQ_LAUNCHER" = hq ]; then
		# shellcheck disable=SC2086
		# The address may be a name (localhost:PORT): the node binds
		# the loopback address and the others dial it by the name.
		(exec "$HQ_DQLITE_NODE" --bind "127.0.0.1:${DQ_ADDR[$i]##*:}" \
		    --address "${DQ_ADDR[$i]}" \
		    --data "$T/node$i" ${join:+--join "$join"} \
		    ${DQ_ARGS[$i]:-} >>"$T/node$i.log" 2>&1) &
	else
		(cd "$T" && exec "$DQ_DEMO" --api "${DQ_API[$i]}" \
		    --db "${DQ_ADDR[$i]}" --dir "$T/nodes" \
		    ${join:+--join "$join"} >>"$T/node$i.log" 2>&1) &
	fi
	DQ_PID[$i]=$!
	HQ_BG+=("${DQ_PID[$i]}")
}

# dq_node_wait I: until node I is ready: its API port accepts (the demo
# opens it after joining and opening its database; hq-dqlite-node's
# database port accepts once the node runs, joined or not).
dq_node_wait() {
	hq_wait 30 "dqlite node $1" dq__api_up "$1"
}

# dq_node_start I [JOIN]: spawn and wait.
dq_node_start() {
	dq_node_spawn "$@"
	dq_node_wait "$1"
}

# dq_sql SQL...: each argument a statement, run through the shell on
# every node listed (the shell finds the leader); rows printed, | between
# columns. One statement a line: the shell runs each on its own.
dq_sql() {
	local IFS=,
	printf '%s\n' "$@" | "$DQ_SHELL" -s "${DQ_ADDR[*]}" hq 2>&1 |
	    sed -e 's/dqlite> //g' -e '/^$/d'
}

dq__voters() {
	[ "$(printf '.cluster\n' | "$DQ_SHELL" -s "${DQ_ADDR[0]}" hq 2>&1 |
	    grep -c '|voter')" -eq "$1" ]
}

# dq_cluster N: N nodes, the others joined to the first, all voters.
dq_cluster() {
	local i
	dq_node_start 0
	for ((i = 1; i < $1; i++)); do
		dq_node_start "$i" "${DQ_ADDR[0]}"
	done
	hq_wait 60 "$1 voters" dq__voters "$1"
}

# dq_uri: the --db of the cluster.
dq_uri() {
	local IFS=,
	echo "dqlite://${DQ_ADDR[*]}/hq"
}

# dq_leader: the index of the node that is leader now.
dq_leader() {
	local addr i
	addr=$(printf '.leader\n' | "$DQ_SHELL" -s "${DQ_ADDR[0]},${DQ_ADDR[1]},${DQ_ADDR[2]}" hq 2>&1 |
	    sed -e 's/dqlite> //g' -e '/^$/d' | tail -n 1)
	for i in "${!DQ_ADDR[@]}"; do
		[ "${DQ_ADDR[$i]}" = "$addr" ] && { echo "$i"; return 0; }
	done
	return 1
}

# dq_kill I [SIGNAL]
dq_kill() {
	kill -"${2:-KILL}" "${DQ_PID[$1]}" 2>/dev/null || true
	wait "${DQ_PID[$1]}" 2>/dev/null || true
}
