#!/usr/bin/env bash
# hq-dqlite-node, hq's own node launcher, as the cluster of the dqlite sink
# (skipped where it was not built or the dqlite shell is missing):
#  1. Its refusals: usage (64), configuration (78), a data directory held
#     by another node (75).
#  2. Three nodes on loopback: the first creates the cluster, two join it;
#     the dqlite shell's .cluster lists three voters. The third is known by
#     a name (localhost:PORT), which the others resolve to reach it.
#  3. hqd applies entries to it; the leader is SIGKILLed mid-way: entries,
#     and more published after the kill, are applied by the two left; the
#     node restarts from its data and is a member again: with another
#     node killed, the cluster still commits (it needs the restarted
#     node's vote). Every entry once, failed/ empty.
#  4. A node whose data is lost comes back fresh at its address: it
#     removes its former self and joins again as a voter.
#  5. --bootstrap with no cluster answering creates one; TERM stops a
#     node with status 0.
DQ_LAUNCHER=hq
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dqlite.sh"

N=1500
NODE=$HQ_DQLITE_NODE

# Part 1: refusals.
expect_rc() {	# expect_rc RC WHAT ARGS...
	local want=$1 what=$2 rc=0
	shift 2
	"$NODE" "$@" >>"$T/refusals.log" 2>&1 || rc=$?
	assert_eq "$rc" "$want" "exit status for $what"
}
expect_rc 64 "no options"
expect_rc 64 "no --data" --bind 127.0.0.1:1
expect_rc 64 "--bootstrap without --join" --bind 127.0.0.1:1 \
    --data "$T/x" --bootstrap
expect_rc 78 "--id 0" --bind 127.0.0.1:1 --data "$T/x" --id 0
expect_rc 78 "--address without a port" --bind 127.0.0.1:1 \
    --data "$T/x" --address host
expect_rc 78 "--bind with a name (1.11 binds IPv4 addresses)" \
    --bind localhost:1 --data "$T/x1"
expect_rc 78 "--id 1 with --join, no --bootstrap" --bind 127.0.0.1:1 \
    --data "$T/x2" --id 1 --join 127.0.0.1:2
"$NODE" --help | grep -q -- '--bootstrap' || fail "--help lacks --bootstrap"

# cluster_has ROLE COUNT: the dqlite shell, through whichever node
# answers, lists COUNT members of that role.
cluster() {
	local IFS=,
	printf '.cluster\n' | "$DQ_SHELL" -s "${DQ_ADDR[*]}" hq 2>&1 |
	    sed -e 's/dqlite> //g' -e '/^$/d'
}
cluster_has() {
	local c
	c=$(cluster | grep -c "|$1\$" || true)
	[ "$c" -eq "$2" ] || { sleep 0.2; return 1; }
}

# dq_sql_ok SQL: the statement ran (the shell prints nothing then).
dq_sql_ok() {
	local out
	out=$(dq_sql "$1")
	[ -z "$out" ] || { sleep 0.3; return 1; }
}
dq_gone() {
	! kill -0 "$1" 2>/dev/null
}

# Part 2.
DQ_ADDR[2]=localhost:$(dq__port)
DQ_API[2]=${DQ_ADDR[2]}
dq_node_start 0
dq_node_start 1 "${DQ_ADDR[0]}"
dq_node_start 2 "${DQ_ADDR[0]},${DQ_ADDR[1]}"
hq_wait 90 "3 voters" cluster_has voter 3
grep -q "^1|${DQ_ADDR[0]}|voter$" <<<"$(cluster)" ||
    fail "the first node is not node 1: $(cluster)"
for i in 1 2; do
	grep -q "a voter of the cluster" "$T/node$i.log" ||
	    fail "node $i did not log its promotion"
done
expect_rc 75 "a second node on node 0's data" --bind 127.0.0.1:1 \
    --data "$T/node0"
note "3 voters: $(cluster | tr '\n' ' ')"

# Part 3.
dq_sql "CREATE TABLE t(v INTEGER)" >/dev/null
count() {
	dq_sql "SELECT count(*) FROM t" | tail -n 1
}
count_ge() {
	local c
	c=$(count)
	[[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -ge "$1" ] || { sleep 0.2; return 1; }
}
DB=$(dq_uri)
hq_gen "$N" t
hq_publish
hq_start --workers 1 --batch-size 16
hq_wait 90 "a third of the entries" count_ge $((N / 3))
leader=$(dq_leader) || fail "no leader found"
note "killing leader node $leader at $(count) rows"
dq_kill "$leader"
# Entries published after the kill: the two nodes left elect a leader and
# apply them all, the killed node still down.
hq_gen 500 t 5 $((N + 1))
hq_publish
hq_wait_drained 120
kill -0 "${DQ_PID[$leader]}" 2>/dev/null && fail "node $leader is back?"
assert_eq "$(count)" $((N + 500)) "rows in t with node $leader down"
join=""
[ "$leader" -eq 0 ] || join=${DQ_ADDR[0]}
dq_node_spawn "$leader" "$join"
dq_node_wait "$leader"
hq_gen 200 t 5 $((N + 501))
hq_publish
hq_wait_drained 120
N=$((N + 700))
assert_eq "$(count)" "$N" "rows in t"
assert_eq "$(dq_sql "SELECT count(DISTINCT v) FROM t" | tail -n 1)" "$N" \
    "distinct values in t"
assert_eq "$(hq_count failed)" 0 "failed/"
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd's exit status"
hq_wait 90 "3 voters after the restart" cluster_has voter 3
# The restarted node votes again: with another one down, a write needs it.
other=$(((leader + 1) % 3))
dq_kill "$other"
hq_wait 60 "a commit with node $other down (node $leader voting)" \
    dq_sql_ok "INSERT INTO t(v) VALUES (-1)"
dq_node_spawn "$other" "${DQ_ADDR[0]},${DQ_ADDR[1]},${DQ_ADDR[2]}"
dq_node_wait "$other"
hq_wait 90 "3 voters again" cluster_has voter 3

# Part 4: node 2 loses its data and comes back at its address.
old=$(cluster | awk -F'|' -v a="${DQ_ADDR[2]}" '$2 == a { print $1 }')
new_id_voter() {
	local id
	id=$(cluster | awk -F'|' -v a="${DQ_ADDR[2]}" '$2 == a && $3 == "voter" { print $1 }')
	[ -n "$id" ] && [ "$id" != "$old" ] && cluster_has voter 3
}
dq_kill 2
rm -rf "$T/node2"
dq_node_spawn 2 "${DQ_ADDR[0]},${DQ_ADDR[1]}"
dq_node_wait 2
hq_wait 90 "node 2 a voter under a new id" new_id_voter
grep -q "removing node" "$T/node2.log" || fail "node 2 did not remove its former self"
note "node 2: $old, now $(cluster | awk -F'|' -v a="${DQ_ADDR[2]}" '$2 == a { print $1 }')"

# Part 5: --bootstrap where nobody answers; TERM.
lone=127.0.0.1:$(dq__port)
"$NODE" --bind "$lone" --data "$T/lone" --bootstrap \
    --join "127.0.0.1:$(dq__port)" >>"$T/lone.log" 2>&1 &
lpid=$!
HQ_BG+=("$lpid")
hq_wait 30 "the lone node up" perl -MIO::Socket::INET -e \
    'IO::Socket::INET->new(PeerAddr => $ARGV[0]) or exit 1' "$lone"
assert_eq "$(cut -d' ' -f1 "$T/lone/hq-node")" 1 "the lone node's id"
grep -q "creating one" "$T/lone.log" || fail "no 'creating one' in the lone node's log"
kill -TERM "$lpid"
rc=0
hq_wait 30 "the lone node to stop on TERM" dq_gone "$lpid"
wait "$lpid" || rc=$?
assert_eq "$rc" 0 "exit status on TERM"
grep -q "stopped" "$T/lone.log" || fail "no 'stopped' in the lone node's log"
note "ok"
