#!/usr/bin/env bash
# The compatibility library: 8 shells source it at once, with no hqd
# running, and make 30 calls each of the old API (queue_db_write,
# queue_enqueue, queue_update_session, queue_update_instance,
# queue_insert_log). The library starts hqd on first use: exactly one ends
# up holding the root (losers exit at once saying who holds it), every
# write is applied exactly once, and the old helpers report it:
# queue_size, queue_stats_get, queue_worker_is_running, queue_stop_worker.
# USE_QUEUE=false writes directly (when a sqlite3 command exists).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"

NSH=8
NCALL=30
LOCK=$ROOT/.hqd.lock
WLOG=$ROOT/worker.log

hq_sql "CREATE TABLE w(shell INTEGER, i INTEGER, how TEXT);
	CREATE TABLE sessions(id TEXT PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0,
	    status TEXT);
	CREATE TABLE instance_sessions(instance_id TEXT PRIMARY KEY,
	    counter INTEGER NOT NULL DEFAULT 0);
	CREATE TABLE session_logs(id INTEGER PRIMARY KEY, session_id TEXT,
	    log_level TEXT, message TEXT, data TEXT)"
for s in $(seq 1 $NSH); do
	hq_sql "INSERT INTO sessions(id) VALUES ('s$s');
		INSERT INTO instance_sessions(instance_id) VALUES ('i$s')"
done
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED

t3_lib_trap

cat >"$T/shell.sh" <<'EOF'
# One producer: the old API, NCALL calls, 6 of each kind.
source "$HQ_QUEUE_LIB"
s=$1
for i in $(seq 1 "$2"); do
	case $((i % 5)) in
	0) queue_db_write "INSERT INTO w(shell, i, how) VALUES ($s, $i, 'db_write');" ;;
	1) queue_enqueue insert_w 4 \
	    "INSERT INTO w(shell, i, how) VALUES ($s, $i, 'enqueue');" \
	    "{\"shell\":$s,\"i\":$i}" ;;
	2) queue_update_session "s$s" "counter = counter + 1, status = 'it''s $i'" ;;
	3) queue_update_instance "i$s" "counter = counter + 1" ;;
	4) queue_insert_log "s$s" INFO "shell $s says 'hello' $i" "{\"i\":$i}" ;;
	esac || { echo "shell $s call $i failed" >&2; exit 1; }
done
EOF

[ ! -e "$ROOT" ] || fail "the root exists before the library made it"
pids=()
for s in $(seq 1 $NSH); do
	bash "$T/shell.sh" "$s" "$NCALL" 2>"$T/shell$s.err" &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail "shell $((i + 1)): $(cat "$T/shell$((i + 1)).err")"
done
T3_SEGS+=("$(t3_seg_name "$ROOT")")

# Exactly one hqd holds the root once the losers are gone.
t3__one_hqd() {
	local live
	live=$(t3_lib_hqd)
	[ "$(echo "$live" | wc -w)" -eq 1 ]
}
hq_wait 30 "a single hqd on the root" t3__one_hqd
LIB_PID=$(t3_lib_hqd)
T3_PIDS+=("$LIB_PID")
read -r lockpid <"$LOCK" || fail "no pid in $LOCK"
assert_eq "$lockpid" "$LIB_PID" "pid in the lock file"
[ -d "/proc/$lockpid" ] || fail "the lock's pid $lockpid is not running"

# worker.log: one start; every other hqd said the root was held, by it.
assert_eq "$(grep -c ': started: ' "$WLOG")" 1 "hqd starts in worker.log"
losers=$(grep -c 'is held by hqd pid' "$WLOG" || true)
if grep 'is held by hqd pid' "$WLOG" |
    grep -v -E "hqd: root [^ ]+ is held by hqd pid ($lockpid|\(unknown\))\$"; then
	fail "a loser named another holder than $lockpid"
fi
note "losing hqd starts: $losers"

# Every write applied exactly once.
hq_wait_drained 60
hq__all_applied() {
	[ "$(hq_sql "SELECT count(*) FROM hq_ledger")" -eq $((NSH * NCALL)) ]
}
hq_wait 60 "all $((NSH * NCALL)) entries in the ledger" hq__all_applied
per=$((NCALL / 5))
assert_eq "$(hq_sql "SELECT count(*), count(DISTINCT shell || '.' || i) FROM w")" \
	"$((NSH * per * 2))|$((NSH * per * 2))" "rows of w"
assert_eq "$(hq_sql "SELECT how, count(*) FROM w GROUP BY how ORDER BY how")" \
	"db_write|$((NSH * per))
enqueue|$((NSH * per))" "rows of w by call"
assert_eq "$(hq_sql "SELECT count(*) FROM sessions WHERE counter = $per")" "$NSH" \
	"sessions updated $per times each"
assert_eq "$(hq_sql "SELECT count(*) FROM instance_sessions WHERE counter = $per")" \
	"$NSH" "instances updated $per times each"
assert_eq "$(hq_sql "SELECT count(*), count(DISTINCT message) FROM session_logs")" \
	"$((NSH * per))|$((NSH * per))" "rows of session_logs"
assert_eq "$(hq_sql "SELECT session_id, log_level, message, data FROM session_logs
	WHERE message LIKE 'shell 3 says%' AND data = '{\"i\":4}'")" \
	"s3|INFO|shell 3 says 'hello' 4|{\"i\":4}" "a log row"
assert_eq "$(hq_count failed)" 0 "failed/"

# The old helpers, from a fresh shell.
export HQ_QUEUE_LIB
assert_eq "$(t3_lib queue_size)" 0 "queue_size"
assert_eq "$(t3_lib queue_stats_get)" \
	"{\"enqueued\":$((NSH * NCALL)),\"processed\":$((NSH * NCALL)),\"failed\":0,\"retried\":0,\"direct\":0}" \
	"queue_stats_get"
t3_lib queue_worker_is_running || fail "queue_worker_is_running with hqd up"
mapfile -t workers < <(pgrep -P "$LIB_PID" || true)
t3_lib queue_stop_worker || fail "queue_stop_worker"
hq_wait 10 "hqd to exit after queue_stop_worker" hq_gone "$LIB_PID"
hq_wait 10 "its workers to exit" hq__all_gone "${workers[@]}"
[ -z "$(t3_lib_hqd)" ] || fail "hqd left after queue_stop_worker: $(t3_lib_hqd)"
if t3_lib queue_worker_is_running; then
	fail "queue_worker_is_running with hqd stopped"
fi
[ ! -e "/dev/shm$(t3_seg_name "$ROOT")" ] || fail "segment left after queue_stop_worker"

# USE_QUEUE=false: straight to the database, no hqd started.
if command -v sqlite3 >/dev/null 2>&1; then
	(export USE_QUEUE=false; t3_lib queue_db_write \
		"INSERT INTO w(shell, i, how) VALUES (0, 0, 'direct');") ||
		fail "queue_db_write with USE_QUEUE=false"
	assert_eq "$(hq_sql "SELECT count(*) FROM w WHERE how = 'direct'")" 1 \
		"direct write"
	assert_eq "$(hq_count_entries pending)" 0 "pending/ after a direct write"
	[ -z "$(t3_lib_hqd)" ] || fail "USE_QUEUE=false started hqd"
	t3_assert_match "$(t3_lib queue_stats_get)" '"direct":1}$' "direct count"
else
	note "SKIP USE_QUEUE=false: no sqlite3 command"
fi
note "$NSH shells x $NCALL calls: one hqd, every write applied once"
