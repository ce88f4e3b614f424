#!/usr/bin/env bash
# The dqlite sink against a real 3-node cluster (go-dqlite's dqlite-demo on
# loopback; skipped without it):
#  1. 3000 entries drained while the leader is SIGKILLed a third of the way
#     through and then restarted, with one COMMIT's answer lost on purpose
#     (the worker dies between sending it and reading it): every entry is
#     applied exactly once, failed/ stays empty.
#  2. The cluster down: entries wait (nothing dead-lettered), and drain
#     once it answers.
#  3. A second hqd on another root writing to the same cluster: default
#     ledger ids are qualified per queue, so the same file names do not
#     clash.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dqlite.sh"

N=3000
# A malformed cluster address is a configuration error at start.
rc=0
"$HQD" --root "$T/qbad" --db "dqlite:///hq" >>"$T/bad.log" 2>&1 || rc=$?
assert_eq "$rc" 78 "exit status for --db dqlite:///hq"

dq_cluster 3
DB=$(dq_uri)
dq_sql "CREATE TABLE t(v INTEGER)" "CREATE TABLE u(v INTEGER)" >/dev/null

# dq_count SQL: a count through the shell, the leader wherever it is.
dq_count() {
	dq_sql "$1" | tail -n 1
}

dq__count_ge() {
	local c
	c=$(dq_count "$1")
	[[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -ge "$2" ]
}

# Part 1.
hq_gen "$N" t
hq_publish
t0=$(date +%s%N)
HQ_FAULT=dqlite_after_commit_sent HQ_FAULT_ONCE=$T/fault-once \
    hq_start --workers 2
hq_wait 60 "a third of the entries" dq__count_ge "SELECT count(*) FROM t" \
    $((N / 3))
leader=$(dq_leader) || fail "no leader found"
note "killing leader node $leader at $(dq_count "SELECT count(*) FROM t") rows"
dq_kill "$leader"
sleep 1
dq_node_start "$leader"
hq_wait_drained 90
t1=$(date +%s%N)
assert_eq "$(dq_count "SELECT count(*) FROM t")" "$N" "rows in t"
assert_eq "$(dq_count "SELECT count(DISTINCT v) FROM t")" "$N" \
    "distinct values in t"
assert_eq "$(dq_count "SELECT count(*) FROM hq_ledger")" "$N" "ledger rows"
assert_eq "$(hq_count failed)" 0 "failed/"
[ -e "$T/fault-once" ] || fail "the ambiguous-commit fault did not fire"
hq__log_has "fault point dqlite_after_commit_sent reached" ||
    fail "no worker died between COMMIT and its answer"
note "part 1: $N entries exactly once in $(((t1 - t0) / 1000000)) ms," \
    "leader killed, one COMMIT answer lost;" \
    "$(grep -c 'already applied, skipped' "$LOG" || true) skips by the ledger"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"

# Part 2: the cluster down at start.
for i in 0 1 2; do dq_kill "$i"; done
ROOT=$T/q2 LOG=$T/hqd2.log
hq_gen 50 u
hq_publish
hq_start --workers 2 --http 127.0.0.1:0
hq_wait_log 20 "waiting for the cluster"
hq_wait 10 "the http log line" grep -q 'http: serving on http://127.0.0.1:' "$LOG"
URL=http://127.0.0.1:$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$LOG" |
    head -1 | cut -d: -f3)
sleep 2
assert_eq "$(hq_count failed)" 0 "failed/ with the cluster down"
# Health says why, readiness says no, the stats name the error.
sink_json() {	# sink_json EXPR: a field of hqctl stats --json's "sink"
	"$HQCTL" --root "$ROOT" stats --json |
	    perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
		my $k = $j->{sink}; print eval($ARGV[0]), "\n"' "$1"
}
some_wait() {
	[ "$(sink_json '$k->{workers_waiting}')" -ge 1 ]
}
hq_wait 20 "a worker to wait for the cluster" some_wait
"$HQCTL" --root "$ROOT" health >"$T/health" 2>&1 || fail "hqctl health: $(cat "$T/health")"
grep -q 'waiting for the dqlite cluster' "$T/health" ||
    fail "hqctl health does not say the cluster: $(cat "$T/health")"
grep -q 'last error: connect: no dqlite leader' "$T/health" ||
    fail "hqctl health gives no error: $(cat "$T/health")"
code=$(curl -sS -o "$T/ready" -w '%{http_code}' "$URL/readyz")
assert_eq "$code" 503 "/readyz with the cluster down"
grep -q '^not ready: no dqlite leader reachable: connect: ' "$T/ready" ||
    fail "/readyz body: $(cat "$T/ready")"
assert_eq "$(sink_json '$k->{kind}')" dqlite "sink kind"
curl -sS "$URL/metrics" >"$T/metrics"
grep -q '^hq_sink_up 0$' "$T/metrics" || fail "hq_sink_up is not 0"
[ "$(hq_count_entries pending)" -gt 0 ] ||
    [ "$(hq_count_entries processing)" -gt 0 ] ||
    fail "entries gone with the cluster down"
for i in 0 1 2; do dq_node_spawn "$i"; done
for i in 0 1 2; do dq_node_wait "$i"; done
hq_wait_drained 60
assert_eq "$(dq_count "SELECT count(*) FROM u")" 50 "rows in u"
assert_eq "$(hq_count failed)" 0 "failed/ after the cluster came back"
hq_wait 10 "/readyz to pass" sh -c "curl -sf -o /dev/null '$URL/readyz'"
[[ "$(sink_json '$k->{leader}')" =~ ^127\.0\.0\.1:[0-9]+$ ]] ||
    fail "no leader in the stats: $(sink_json '$k->{leader}')"
[ "$(sink_json '$k->{round_trips}')" -gt 50 ] || fail "round trips not counted"
[ "$(sink_json '$k->{connects}')" -ge 1 ] || fail "connects not counted"
curl -sS "$URL/metrics" >"$T/metrics"
grep -q '^hq_sink_up 1$' "$T/metrics" || fail "hq_sink_up is not 1"
grep -Eq '^hq_sink_round_trips_total [1-9][0-9]*$' "$T/metrics" ||
    fail "no hq_sink_round_trips_total"
"$HQCTL" --root "$ROOT" stats >"$T/stats.txt"
grep -q '^dqlite       leader 127.0.0.1:' "$T/stats.txt" ||
    fail "hqctl stats has no dqlite line"
note "part 2: cluster down at start, 50 entries waited, then drained"

# Part 3: the same file names from another queue are other entries; its
# hqd runs beside the first one.
first_root=$ROOT
ROOT=$T/q3
hq_gen 50 u
hq_publish
"$HQD" --root "$ROOT" --db "$DB" --workers 1 >>"$T/hqd3.log" 2>&1 &
HQ_BG+=("$!")
hq_wait_drained 60
kill -TERM "$!"
wait "$!" || fail "second hqd exit status $?"
assert_eq "$(dq_count "SELECT count(*) FROM u")" 100 "rows in u, 2 roots"
assert_eq "$(hq_count failed)" 0 "failed/ of the second root"
[ "$(cat "$first_root/.queue-id")" != "$(cat "$ROOT/.queue-id")" ] ||
    fail "two roots with one queue id"
note "part 3: two roots, same names, no ledger clash"

# Part 4: entries that meet the 1.11 server's quirks, on the first root
# (its hqd still runs). RETURNING and SELECT apply (sent as QUERY after
# the node refuses their EXEC); statements split with their parameters;
# a NUL inside a text parameter cannot be sent: a dead letter saying so.
ROOT=$first_root
hq_drop 5_2001.json '{"sql":"INSERT INTO u(v) VALUES (?) RETURNING v","params":[1001]}'
hq_drop 5_2002.json '{"sql":"SELECT count(*) FROM u"}'
hq_drop 5_2003.json '{"sql":"INSERT INTO u(v) VALUES (?); INSERT INTO u(v) VALUES (?);","params":[1002,1003]}'
hq_drop 5_2004.json '{"sql":"INSERT INTO u(v) VALUES (?)","params":["a\u0000b"]}'
hq_wait_drained 30
hq_wait 10 "the NUL entry's dead letter" test -e "$ROOT/failed/5_2004.json.err"
hq_failed_only 5_2004.json
hq_failed_why 5_2004.json 'NUL'
assert_eq "$(dq_count "SELECT count(*) FROM u WHERE v > 1000")" 3 \
    "rows of RETURNING and the two-statement entry"
note "part 4: RETURNING, SELECT, two statements applied; NUL text refused"
