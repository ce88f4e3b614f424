#!/usr/bin/env bash
# Cumulative counters (issue 15): stats.json and queue_stats_get go on
# counting across hqd's restarts, as the old worker's stats.json did, and
# stats.json is written when hqd exits (it was stale after a stop: 1
# enqueued, 0 processed after 3 were applied). With hqd down they come
# from the file hqd left, with entries queued meanwhile counted as
# enqueued. An old worker's stats.json (pretty-printed by jq) is carried
# on when hq takes over its root. The segment's counters (hqctl stats,
# Prometheus) start again from 0, as counters do.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL HQ_QUEUE_LIB
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED
export HEARTBEAT_INTERVAL=1
t3_lib_trap
hq_sql "CREATE TABLE c(v)"

# stats E P F R: queue_stats_get (a fresh hook) shows these.
stats() {
	assert_eq "$(t3_lib queue_stats_get)" \
		"{\"enqueued\":$1,\"processed\":$2,\"failed\":$3,\"retried\":$4,\"direct\":0}" \
		"queue_stats_get ($5)"
}
stats_file() {	# stats_file E P F R WHAT: stats.json
	assert_eq "$(cat "$ROOT/stats.json")" \
		"{\"enqueued\":$1,\"processed\":$2,\"failed\":$3,\"retried\":$4,\"direct\":0}" \
		"stats.json ($5)"
}
hq__file_is() {
	[ "$(cat "$ROOT/stats.json" 2>/dev/null)" = "$1" ]
}
hqd_pid() {
	cat "$ROOT/.hqd.lock"
}
# stop: queue_stop_worker, and wait for hqd to be gone.
stop() {
	local pid
	pid=$(hqd_pid)
	t3_lib queue_stop_worker
	hq_wait 15 "hqd $pid to stop" hq_gone "$pid"
}

# 1. An old worker's stats.json, as jq wrote it, then hq takes over.
mkdir -p "$ROOT"
printf '{\n  "enqueued": 12,\n  "processed": 10,\n  "failed": 1,\n  "retried": 4,\n  "direct": 0\n}\n' \
	>"$ROOT/stats.json"
for i in 1 2 3; do
	t3_lib queue_db_write "INSERT INTO c(v) VALUES ($i)" || fail "write $i"
done
t3_lib queue_db_write "INSERT INTO nope(v) VALUES (1)" || fail "a bad write"
hq_wait_sql 20 "SELECT count(*) FROM c" 3
hq_wait_drained 20
hq_wait 10 "the bad write in failed/" eval '[ "$(hq_count_entries failed)" -eq 1 ]'
stats 15 13 2 4 "the old worker's totals, and 3 applied and 1 failed since"
hq_wait 10 "stats.json to follow" hq__file_is \
	'{"enqueued":15,"processed":13,"failed":2,"retried":4,"direct":0}'
# hqd's own counters are its own life's
hq_wait 10 "hqctl stats" t3__stats_has '$j->{entries_applied} . "," . $j->{entries_failed}' "3,1"

# 2. Stopped: stats.json is written at the exit, and queue_stats_get
# reads it; entries queued meanwhile count as enqueued.
stop
stats_file 15 13 2 4 "after the stop"
stats 15 13 2 4 "hqd down"
"$HQCTL" --root "$ROOT" enqueue "INSERT INTO c(v) VALUES (4)" >/dev/null
"$HQCTL" --root "$ROOT" enqueue "INSERT INTO c(v) VALUES (5)" >/dev/null
stats 17 13 2 4 "hqd down, 2 queued"

# 3. Started again: the totals go on from the file.
t3_lib queue_ensure_worker || fail "queue_ensure_worker"
hq_wait_sql 20 "SELECT count(*) FROM c" 5
hq_wait_drained 20
stats 17 15 2 4 "after the restart"
hq_wait 10 "hqctl stats from 0" t3__stats_has '$j->{entries_applied}' 2
hq_wait 10 "stats.json after the restart" hq__file_is \
	'{"enqueued":17,"processed":15,"failed":2,"retried":4,"direct":0}'

# 4. A crash (SIGKILL): what stats.json had at the last heartbeat is kept.
pid=$(hqd_pid)
kill -KILL "$pid"
hq_wait 10 "hqd to die" hq_gone "$pid"
# (a stale segment: hqctl reads the file)
stats 17 15 2 4 "after a crash"
t3_lib queue_db_write "INSERT INTO c(v) VALUES (6)" || fail "write after the crash"
hq_wait_sql 20 "SELECT count(*) FROM c" 6
hq_wait_drained 20
stats 18 16 2 4 "after the crash and one more"
stop
stats_file 18 16 2 4 "at the end"
note "stats.json and queue_stats_get: cumulative across restarts and a crash"
