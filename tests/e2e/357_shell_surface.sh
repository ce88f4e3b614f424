#!/usr/bin/env bash
# The old library's caller-facing surface (issue 15): after sourcing hq's
# queue-lib.sh under `set -eu`, every function and variable of the old
# queue-lib.sh and queue-autostart.sh exists (but the old worker's own
# internals: claim, complete, fail, heartbeat writes), the old ones are
# exported to child shells as before, and each function takes the old
# arguments in the old order and returns the old codes: sequence numbers
# from .seq, JSON helpers, health checks and their cache, the atomic start,
# the requeue of an orphan, direct SQL, stats, reset.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL HQ_QUEUE_LIB
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED QUEUE_BATCH_SIZE \
	QUEUE_IDLE_EXIT QUEUE_PROCESSING_TIMEOUT SQLITE_TIMEOUT SQLITE_BUSY_TIMEOUT
t3_lib_trap

FUNCS=(
	# queue-lib.sh
	queue_init_dirs queue_is_available queue_next_seq json_escape_string
	queue_format_json json_get_field queue_db_write queue_write
	queue_enqueue queue_list_pending queue_read_entry queue_retry_entry
	queue_size queue_processing_count queue_recover_orphans
	queue_exec_sql_direct queue_exec_sql queue_stats_increment
	queue_stats_get queue_worker_is_running queue_ensure_worker
	queue_stop_worker queue_log queue_cleanup_old queue_reset
	queue_update_session queue_update_instance queue_insert_log
	# queue-autostart.sh
	queue_health_check_cached queue_health_check_full
	queue_atomic_start_worker queue_ensure_worker_fast
	queue_invalidate_health_cache queue_health_cache_status
	queue_heartbeat_status
)
VARS=(
	QUEUE_BASE_DIR QUEUE_PENDING_DIR QUEUE_PROCESSING_DIR
	QUEUE_COMPLETED_DIR QUEUE_FAILED_DIR QUEUE_TMP_DIR QUEUE_SEQ_FILE
	QUEUE_LOCK_FILE QUEUE_WORKER_PID QUEUE_WORKER_LOG QUEUE_STATS_FILE
	HIVE_DB QUEUE_POLL_INTERVAL QUEUE_BATCH_SIZE QUEUE_MAX_RETRIES
	QUEUE_IDLE_EXIT QUEUE_PROCESSING_TIMEOUT SQLITE_TIMEOUT
	SQLITE_BUSY_TIMEOUT USE_QUEUE QUEUE_LIB_DIR QUEUE_AUTOSTART_AVAILABLE
	QUEUE_AUTOSTART_LOADED HEALTH_CACHE_TTL HEARTBEAT_TIMEOUT
	STARTUP_LOCK_TIMEOUT HEARTBEAT_INTERVAL STARTUP_WAIT_TIMEOUT
	HEALTH_CACHE_FILE HEARTBEAT_FILE STARTUP_LOCK_DIR
)

# 1. Everything is there, under set -eu, in a fresh shell; the functions
# are exported to child shells (bash -c) as the old library's were, and so
# is QUEUE_AUTOSTART_AVAILABLE.
cat >"$T/surface.sh" <<'EOF'
set -eu
source "$HQ_QUEUE_LIB"
for f in $FUNCS; do
	declare -F "$f" >/dev/null || echo "missing function $f"
	bash -c 'declare -F "$1" >/dev/null' _ "$f" || echo "not exported: $f"
done
for v in $VARS; do
	[ -n "${!v:-}" ] || echo "missing variable $v"
done
bash -c '[ "${QUEUE_AUTOSTART_AVAILABLE:-}" = true ]' ||
	echo "QUEUE_AUTOSTART_AVAILABLE not exported"
for v in QUEUE_POLL_INTERVAL QUEUE_BATCH_SIZE QUEUE_MAX_RETRIES \
    QUEUE_IDLE_EXIT QUEUE_PROCESSING_TIMEOUT SQLITE_TIMEOUT \
    SQLITE_BUSY_TIMEOUT HEALTH_CACHE_TTL HEARTBEAT_TIMEOUT \
    STARTUP_LOCK_TIMEOUT HEARTBEAT_INTERVAL STARTUP_WAIT_TIMEOUT; do
	[[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || echo "$v is not a number: ${!v}"
done
printf '%s\n' "$QUEUE_LOCK_FILE" "$QUEUE_WORKER_PID" "$QUEUE_SEQ_FILE" \
    "$QUEUE_STATS_FILE" "$QUEUE_LIB_DIR" "$QUEUE_BATCH_SIZE" \
    "$QUEUE_IDLE_EXIT" "$QUEUE_PROCESSING_TIMEOUT" "$SQLITE_TIMEOUT" \
    "$HEARTBEAT_FILE" "$HEALTH_CACHE_FILE" >"$OUT"
EOF
OUT=$T/vars FUNCS="${FUNCS[*]}" VARS="${VARS[*]}" bash "$T/surface.sh" \
	>"$T/surface.out" 2>&1 || fail "sourcing under set -eu: $(cat "$T/surface.out")"
[ ! -s "$T/surface.out" ] || fail "$(cat "$T/surface.out")"
libdir=$(cd "$(dirname "$HQ_QUEUE_LIB")" && pwd)
assert_eq "$(cat "$T/vars")" "$ROOT/.hqd.lock
$ROOT/.hqd.lock
$ROOT/.seq
$ROOT/stats.json
$libdir
256
0
300
10000
$ROOT/.heartbeat
$ROOT/.health_cache" "the variables' values (hq's defaults)"
assert_eq "$(QUEUE_BATCH_SIZE=7 bash -c 'source "$HQ_QUEUE_LIB"; echo $QUEUE_BATCH_SIZE')" \
	7 "QUEUE_BATCH_SIZE from the environment"
# HQ_QUEUE_LIB_EXPORT=false: defined here, not exported to children.
assert_eq "$(HQ_QUEUE_LIB_EXPORT=false bash -c 'source "$HQ_QUEUE_LIB"
	declare -F queue_db_write; bash -c "declare -F queue_db_write" || echo no')" \
	"queue_db_write
no" "HQ_QUEUE_LIB_EXPORT=false"
# Sourcing leaves the caller's shell options alone.
assert_eq "$(bash -c 'o1=$(set +o); source "$HQ_QUEUE_LIB"; [ "$o1" = "$(set +o)" ] && echo same')" \
	same "shell options after sourcing"

# Under the caller's own allexport too.
assert_eq "$(bash -c 'set -a; o1=$(set +o); source "$HQ_QUEUE_LIB"; [ "$o1" = "$(set +o)" ] && echo same')" \
	same "shell options after sourcing, with set -a"

# 1b. The stubs (issue 16): queue-lib.sh defines a hook's path; the rest
# are stubs that load queue-lib-more.sh on first use, in the hook and in
# its bash -c children (exported), under set -u, then are the real ones.
J='{"a":7,"b":"x"}'
assert_eq "$(bash -uc 'source "$HQ_QUEUE_LIB"
	declare -f json_get_field | grep -c _hq_more
	json_get_field "$1" a
	declare -f json_get_field | grep -c _hq_more || true' _ "$J")" "1
7
0" "a stub called first in the hook, then the real function"
assert_eq "$(bash -uc 'source "$HQ_QUEUE_LIB"
	bash -uc "json_get_field \"\$1\" b; declare -f json_get_field | grep -c _hq_more || true" _ "$1"
	declare -f json_get_field | grep -c _hq_more' _ "$J")" "x
0
1" "a stub called first in a bash -c child of the hook"
assert_eq "$(bash -uc 'source "$HQ_QUEUE_LIB"; json_get_field "$1" a >/dev/null
	bash -uc "declare -f json_get_field | grep -c _hq_more || true; json_get_field \"\$1\" b" _ "$1"
	source "$HQ_QUEUE_LIB"; json_get_field "$1" a' _ "$J")" "0
x
7" "the real function in a child once loaded; stubs again after sourcing again"
assert_eq "$(HQ_QUEUE_LIB_EXPORT=false bash -uc 'source "$HQ_QUEUE_LIB"
	json_get_field "$1" a; bash -c "declare -F json_get_field" || echo no' _ "$J")" \
	"7
no" "a stub with HQ_QUEUE_LIB_EXPORT=false"
# HQ_QUEUE_LIB_LAZY=false: the real functions at once, as before (a
# function the caller redefines stays its own).
assert_eq "$(HQ_QUEUE_LIB_LAZY=false bash -uc 'source "$HQ_QUEUE_LIB"
	declare -f json_get_field queue_size | grep -c _hq_more || true
	queue_log() { echo mine; }; queue_size >/dev/null; queue_log')" \
	"0
mine" "HQ_QUEUE_LIB_LAZY=false"
# queue-lib.sh without queue-lib-more.sh beside it: the stubs say so (1).
mkdir -p "$T/alone"
cp "$HQ_QUEUE_LIB" "$T/alone/"
assert_eq "$(bash -uc 'source "$1"; json_get_field "{}" a; echo "rc $?"' _ \
	"$T/alone/queue-lib.sh" 2>"$T/alone.err")" "rc 1" "a stub without queue-lib-more.sh"
assert_eq "$(cat "$T/alone.err")" \
	"queue-lib.sh: json_get_field needs $T/alone/queue-lib-more.sh (beside queue-lib.sh): cannot read it" \
	"its message"

# rc CMD...: the status of t3_lib CMD (a fresh hook shell).
rc() {
	local r=0
	t3_lib "$@" >"$T/rc.out" 2>&1 || r=$?
	echo "$r"
}

# 2. The tree, .seq and stats.json.
assert_eq "$(rc queue_is_available)" 1 "queue_is_available before init"
assert_eq "$(rc queue_init_dirs)" 0 "queue_init_dirs"
assert_eq "$(rc queue_is_available)" 0 "queue_is_available after init"
assert_eq "$(cat "$ROOT/.seq")" 0 ".seq after init"
t3_json_is "$ROOT/stats.json" 'join ",", map { "$_=$j->{$_}" } sort keys %$j' \
	"direct=0,enqueued=0,failed=0,processed=0,retried=0"
s1=$(t3_lib queue_next_seq)
s2=$(t3_lib queue_next_seq)
t3_assert_match "$s1" '^[0-9]{19}_1$' "queue_next_seq"
t3_assert_match "$s2" '^[0-9]{19}_2$' "queue_next_seq again"
assert_eq "$(cat "$ROOT/.seq")" 2 ".seq after two"
assert_eq "$(rc queue_init_dirs)" 0 "queue_init_dirs again"
assert_eq "$(cat "$ROOT/.seq")" 2 ".seq kept by queue_init_dirs"

# 3. The JSON helpers.
assert_eq "$(t3_lib json_escape_string "$(printf 'a"b\\c\td\ne\x01')")" \
	'a\"b\\c\td\ne\u0001' "json_escape_string: the body, no quotes"
assert_eq "$(t3_lib json_get_field '{"name":"John","age":30}' name)" John \
	"json_get_field name"
assert_eq "$(t3_lib json_get_field '{"name":"John","age":30}' age)" 30 \
	"json_get_field age"
assert_eq "$(t3_lib json_get_field '{"at": "2024-01-01T00:00:00Z", "n": 1}' at)" \
	2024-01-01T00:00:00Z "json_get_field with a colon and spaces"
assert_eq "$(rc json_get_field '{"name":"John"}' nope)" 1 "json_get_field missing"
t3_lib queue_format_json "UPDATE s SET v = 'it''s \"x\"'" op_f 3 '{"m":[1]}' 123_4 \
	>"$T/fmt.json"
t3_json_is "$T/fmt.json" \
	'join "|", @$j{qw(seq priority operation sql retries)}, JSON::PP->new->encode($j->{metadata})' \
	"123_4|3|op_f|UPDATE s SET v = 'it''s \"x\"'|0|{\"m\":[1]}"
t3_lib queue_format_json "SELECT 1" "" "" 'not json' 9_9 >"$T/fmt2.json"
t3_json_is "$T/fmt2.json" 'join "|", @$j{qw(operation priority metadata)}' \
	"generic|5|not json"

# 4. No hqd yet: the checks say so, and the statuses are empty.
assert_eq "$(rc queue_worker_is_running)" 1 "queue_worker_is_running, none"
assert_eq "$(rc queue_health_check_full)" 1 "queue_health_check_full, none"
assert_eq "$(rc queue_health_check_cached)" 1 "queue_health_check_cached, none"
assert_eq "$(t3_lib queue_health_cache_status)" not_initialized "cache status"
assert_eq "$(t3_lib queue_heartbeat_status)" not_initialized "heartbeat status"
assert_eq "$(t3_lib queue_size) $(t3_lib queue_processing_count)" "0 0" \
	"queue_size queue_processing_count"
# Direct SQL: a missing database is not created (1), as before.
assert_eq "$(rc queue_exec_sql "CREATE TABLE x(v)")" 1 "queue_exec_sql, no database"
[ ! -e "$DB" ] || fail "queue_exec_sql created the database"
hq_sql "CREATE TABLE t(v);
	CREATE TABLE sessions(id TEXT PRIMARY KEY, n INTEGER DEFAULT 0);
	CREATE TABLE instance_sessions(instance_id TEXT PRIMARY KEY, n INTEGER DEFAULT 0);
	CREATE TABLE session_logs(id INTEGER PRIMARY KEY, session_id TEXT,
	    log_level TEXT, message TEXT, data TEXT);
	INSERT INTO sessions(id) VALUES ('s1');
	INSERT INTO instance_sessions(instance_id) VALUES ('i1')"
if command -v sqlite3 >/dev/null 2>&1; then
	assert_eq "$(rc queue_exec_sql "INSERT INTO t(v) VALUES ('direct')")" 0 \
		"queue_exec_sql"
	assert_eq "$(rc queue_exec_sql "INSERT INTO nope(v) VALUES (1)")" 1 \
		"queue_exec_sql, an SQL error"
	assert_eq "$(rc queue_exec_sql_direct "INSERT INTO t(v) VALUES ('direct2')" 1)" 0 \
		"queue_exec_sql_direct SQL RETRIES"
	assert_eq "$(cat "$ROOT/.direct")" xx "the direct count"
fi
assert_eq "$(rc queue_stats_increment direct 3)" 0 "queue_stats_increment direct 3"
assert_eq "$(rc queue_stats_increment processed)" 0 "queue_stats_increment processed"
t3_assert_match "$(t3_lib queue_stats_get)" \
	'^\{"enqueued":0,"processed":0,"failed":0,"retried":0,"direct":[35]\}$' \
	"queue_stats_get, no hqd"

# 5. The atomic start: 0 once hqd runs; the checks and statuses follow.
assert_eq "$(rc queue_atomic_start_worker)" 0 "queue_atomic_start_worker"
assert_eq "$(rc queue_worker_is_running)" 0 "queue_worker_is_running"
read -r pid <"$ROOT/.hqd.lock"
assert_eq "$(cat "/proc/$pid/comm")" hqd "the pid in QUEUE_WORKER_PID"
assert_eq "$(rc queue_atomic_start_worker)" 0 "queue_atomic_start_worker again"
assert_eq "$(t3_lib_hqd)" "$pid" "one hqd"
hq_wait 10 "the first heartbeat" test -f "$ROOT/.heartbeat"
t3_assert_match "$(t3_lib queue_health_cache_status)" '^fresh:[0-9]s$' \
	"cache status after the start"
assert_eq "$(rc queue_invalidate_health_cache)" 0 "queue_invalidate_health_cache"
assert_eq "$(t3_lib queue_health_cache_status)" not_initialized \
	"cache status, invalidated"
assert_eq "$(rc queue_health_check_full)" 0 "queue_health_check_full"
assert_eq "$(rc queue_health_check_cached)" 0 "queue_health_check_cached"
[ -f "$ROOT/.health_cache" ] || fail "no .health_cache after a good check"
t3_assert_match "$(t3_lib queue_heartbeat_status)" '^healthy:[0-9]+s$' \
	"heartbeat status"
assert_eq "$(rc queue_ensure_worker_fast)" 0 "queue_ensure_worker_fast"
assert_eq "$(rc queue_ensure_worker)" 0 "queue_ensure_worker"

# 6. Writes, with the old argument orders.
assert_eq "$(rc queue_db_write "INSERT INTO t(v) VALUES ('db_write')" w 2 '{"a":1}')" \
	0 "queue_db_write SQL OP PRIO META"
assert_eq "$(rc queue_write "INSERT INTO t(v) VALUES ('write')")" 0 "queue_write"
assert_eq "$(rc queue_enqueue op_e 4 "INSERT INTO t(v) VALUES ('enqueue')" '{}')" \
	0 "queue_enqueue OP PRIO SQL META"
assert_eq "$(rc queue_update_session s1 "n = n + 1")" 0 "queue_update_session"
assert_eq "$(rc queue_update_instance i1 "n = n + 2")" 0 "queue_update_instance"
assert_eq "$(rc queue_insert_log s1 warn "it's here" '{"k":"v"}')" 0 \
	"queue_insert_log"
assert_eq "$(rc queue_db_write "")" 1 "queue_db_write of nothing"
assert_eq "$(rc queue_wait_drain 20)" 0 "queue_wait_drain"
hq_wait_sql 20 "SELECT group_concat(v, ',') FROM (SELECT v FROM t
	WHERE v NOT LIKE 'direct%' ORDER BY v)" "db_write,enqueue,write"
assert_eq "$(hq_sql "SELECT n FROM sessions; SELECT n FROM instance_sessions;
	SELECT log_level || ':' || message || ':' || data FROM session_logs")" \
	"1
2
warn:it's here:{\"k\":\"v\"}" "the wrappers' rows"
assert_eq "$(rc queue_list_pending 5)" 0 "queue_list_pending"
[ ! -s "$T/rc.out" ] || fail "queue_list_pending printed $(cat "$T/rc.out")"
assert_eq "$(rc queue_read_entry "$ROOT/pending/nope.json")" 1 "queue_read_entry, none"
t3_assert_match "$(t3_lib queue_stats_get)" \
	'^\{"enqueued":6,"processed":6,"failed":0,"retried":0,"direct":[35]\}$' \
	"queue_stats_get"

# 7. An orphan of the old worker: requeued by queue_retry_entry with one
# more retry, under its own name; past QUEUE_MAX_RETRIES, to failed/.
orphan=5_1700000000000000000_1.json
printf '{"seq":"1700000000000000000_1","priority":5,"operation":"o","sql":"INSERT INTO t(v) VALUES (%s)","metadata":{},"created_at":"2024-01-01T00:00:00Z","retries":0}\n' \
	"'orphan'" >"$ROOT/processing/$orphan"
assert_eq "$(rc queue_retry_entry "$ROOT/processing/$orphan")" 0 "queue_retry_entry"
assert_eq "$(rc queue_retry_entry "$ROOT/processing/$orphan")" 1 \
	"queue_retry_entry of a file no longer there"
hq_wait_sql 20 "SELECT count(*) FROM t WHERE v = 'orphan'" 1
worn=5_1700000000000000000_2.json
printf '{"seq":"1700000000000000000_2","sql":"SELECT 1","retries":2}\n' \
	>"$ROOT/processing/$worn"
assert_eq "$(rc queue_retry_entry "$ROOT/processing/$worn")" 1 \
	"queue_retry_entry past the retries"
[ -f "$ROOT/failed/$worn" ] || fail "$worn: not in failed/"
# the library's notes: hqd's shape, worker -1 (no worker failed it)
t3_assert_match "$(cat "$ROOT/failed/$worn.err")" \
	'^\{"entry":"'"$worn"'","error":"max retries exceeded \(queue_retry_entry\)","attempts":3,"failed_at":"[0-9TZ:-]+","worker":-1\}$' \
	"$worn.err"
# queue_recover_orphans: only what is older than the timeout.
old=5_1700000000000000000_3.json
printf '{"sql":"INSERT INTO t(v) VALUES (%s)"}\n' "'recovered'" \
	>"$ROOT/processing/$old"
assert_eq "$(rc queue_recover_orphans 3600)" 0 "queue_recover_orphans 3600"
[ -f "$ROOT/processing/$old" ] || fail "queue_recover_orphans took a young entry"
touch -d '-2 hours' "$ROOT/processing/$old"
assert_eq "$(rc queue_recover_orphans 3600)" 0 "queue_recover_orphans"
hq_wait_sql 20 "SELECT count(*) FROM t WHERE v = 'recovered'" 1

# 8. Log, cleanup, stop, reset.
assert_eq "$(rc queue_log info "a line from a hook")" 0 "queue_log"
t3_assert_match "$(tail -n 1 "$ROOT/worker.log")" \
	'^[0-9-]{10}T[0-9:]{8}Z queue-lib: info: a line from a hook$' "the log line"
assert_eq "$(rc queue_cleanup_old 1)" 0 "queue_cleanup_old"
assert_eq "$(rc queue_stop_worker)" 0 "queue_stop_worker"
hq_wait 10 "hqd to stop" hq_gone "$pid"
assert_eq "$(rc queue_worker_is_running)" 1 "queue_worker_is_running, stopped"
assert_eq "$(rc queue_stop_worker)" 0 "queue_stop_worker, none running"
assert_eq "$(rc queue_reset)" 0 "queue_reset"
assert_eq "$(cat "$ROOT/.seq")" 0 ".seq after reset"
assert_eq "$(t3_lib queue_stats_get)" \
	'{"enqueued":0,"processed":0,"failed":0,"retried":0,"direct":0}' \
	"queue_stats_get after reset"
assert_eq "$(hq_count_entries failed)" 0 "failed/ after reset"
note "${#FUNCS[@]} functions, ${#VARS[@]} variables: the old surface"
