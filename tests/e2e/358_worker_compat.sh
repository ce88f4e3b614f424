#!/usr/bin/env bash
# The old operational scripts, run against hq (issue 15): hq's queue-lib.sh
# (with queue-lib-more.sh) and queue-worker.sh copied where the old ones
# were (hooks/lib/), the steps of the old queue-worker-start.sh (start:
# `nohup lib/queue-worker.sh &`, then kill -0 after half a second; start
# --foreground; status; stop), queue-init.sh --verify (the tree, .seq,
# stats.json, an executable lib/queue-worker.sh) and queue-cleanup.sh
# --recover (a number in QUEUE_PROCESSING_TIMEOUT, queue_retry_entry on an
# orphan). Also queue-worker.sh's start, stop, status, restart and
# --once. Before, there was no queue-worker.sh, no .seq, and no
# QUEUE_PROCESSING_TIMEOUT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED QUEUE_PROCESSING_TIMEOUT
t3_lib_trap
WLOG=$ROOT/worker.log
hq_sql "CREATE TABLE t(v)"

# The hooks folder of an old installation, with hq's files in lib/.
H=$T/hooks
mkdir -p "$H/lib"
src=$(dirname "$HQ_QUEUE_LIB")
cp "$src/queue-lib.sh" "$src/queue-lib-more.sh" "$H/lib/"
if [ -f "$src/queue-worker.sh" ]; then
	cp -p "$src/queue-worker.sh" "$H/lib/"
fi
W=$H/lib/queue-worker.sh
export HQ_QUEUE_LIB=$H/lib/queue-lib.sh

# hook CODE...: a script in hooks/ sourcing lib/queue-lib.sh, as the old
# ones do (set -e, as they run), then CODE.
hook() {
	printf '%s\n' 'set -e' 'source "$(dirname "$0")/lib/queue-lib.sh"' \
		"$@" >"$H/step.sh"
	bash "$H/step.sh"
}
running() {
	hook queue_worker_is_running
}

# 1. queue-init.sh: init, then --verify's checks.
hook queue_init_dirs || fail "queue_init_dirs"
for d in "$ROOT" "$ROOT/pending" "$ROOT/processing" "$ROOT/completed" \
    "$ROOT/failed" "$ROOT/.tmp"; do
	[ -d "$d" ] || fail "verify: missing $d"
done
hook '[ -f "$QUEUE_SEQ_FILE" ]' || fail "verify: Sequence file missing"
hook '[ -f "$QUEUE_STATS_FILE" ]' || fail "verify: Stats file missing"
[ -x "$W" ] || fail "verify: Worker script not executable: lib/queue-worker.sh"

# 2. queue-worker-start.sh start: the worker script with no argument in
# the background, alive half a second later; its pid is hqd's.
if running; then
	fail "a worker runs before the start"
fi
nohup "$W" </dev/null >>"$WLOG" 2>&1 &
wpid=$!
T3_PIDS+=("$wpid")
sleep 0.5
kill -0 "$wpid" 2>/dev/null || fail "Worker failed to start: $(tail -n 5 "$WLOG")"
hq_wait 10 "the worker to hold the root" running
assert_eq "$(hook 'cat "$QUEUE_WORKER_PID"')" "$wpid" "PID file: the started pid"
assert_eq "$(cat "/proc/$wpid/comm")" hqd "the started process"
# A second worker is refused, naming the first (as the old one did).
t3_run "$W"
assert_eq "$T3_RC" 1 "a second worker's status"
t3_assert_match "$(cat "$T/err")" "^Worker already running \\(PID: $wpid\\)$" \
	"a second worker's message"
hook 'queue_db_write "INSERT INTO t(v) VALUES (1)"' || fail "a write"
hq_wait_sql 20 "SELECT count(*) FROM t" 1

# 3. status, then queue-worker-start.sh stop: TERM the PID file's pid,
# wait for it, remove the PID file (hq's lock: harmless once hqd is gone).
t3_run "$W" status
assert_eq "$T3_RC" 0 "status, running"
t3_assert_match "$(cat "$T/out")" "^Worker: running \\(PID: $wpid\\)" "status output"
hook 'kill -TERM "$(cat "$QUEUE_WORKER_PID")"'
hq_wait 15 "the worker to stop" hq_gone "$wpid"
wait "$wpid" || fail "hqd's exit status after TERM: $?"
hook 'rm -f "$QUEUE_WORKER_PID"'
if running; then
	fail "a worker runs after stop"
fi
t3_run "$W" status
assert_eq "$T3_RC" 1 "status, stopped"
t3_assert_match "$(cat "$T/out")" '^Worker: not running' "status output, stopped"

# 4. start --foreground: exec of the worker script with --foreground.
"$W" --foreground >>"$WLOG" 2>&1 &
fpid=$!
T3_PIDS+=("$fpid")
hq_wait 10 "the foreground worker" running
assert_eq "$(cat "$ROOT/.hqd.lock")" "$fpid" "the foreground worker's pid"
kill -TERM "$fpid"
wait "$fpid" || fail "the foreground worker's exit status: $?"

# 5. queue-worker.sh's own start, stop, restart.
t3_run "$W" start
assert_eq "$T3_RC" 0 "start ($(cat "$T/err"))"
t3_assert_match "$(cat "$T/out")" '^Worker started \(PID: [0-9]+\)$' "start output"
spid=$(cat "$ROOT/.hqd.lock")
running || fail "not running after start"
t3_run "$W" start
assert_eq "$T3_RC" 0 "start again"
t3_assert_match "$(cat "$T/out")" "^Worker already running \\(PID: $spid\\)$" \
	"start again: output"
t3_run "$W" restart
assert_eq "$T3_RC" 0 "restart ($(cat "$T/err"))"
hq_gone "$spid" || fail "restart left the old hqd $spid"
rpid=$(cat "$ROOT/.hqd.lock")
[ "$rpid" != "$spid" ] && running || fail "restart: no new hqd"
t3_run "$W" stop
assert_eq "$T3_RC" 0 "stop"
hq_wait 10 "hqd to stop" hq_gone "$rpid"
t3_run "$W" stop
assert_eq "$T3_RC" 0 "stop, none running"
t3_run "$W" --bogus
assert_eq "$T3_RC" 1 "an unknown option"
t3_run "$W" --help
assert_eq "$T3_RC" 0 "--help"

# 6. queue-cleanup.sh --recover: an orphan of the old worker (flat
# processing/), older than QUEUE_PROCESSING_TIMEOUT, goes back through
# queue_retry_entry; then --once applies it and what was queued, and exits.
orphan=5_1700000000000000000_1.json
printf '{"seq":"1700000000000000000_1","priority":5,"sql":"INSERT INTO t(v) VALUES (2)","retries":0}\n' \
	>"$ROOT/processing/$orphan"
touch -d '-1 hour' "$ROOT/processing/$orphan"
hook 'timeout=${1:-$QUEUE_PROCESSING_TIMEOUT}' \
	'[[ $timeout =~ ^[0-9]+$ ]] || { echo "timeout: ${timeout}s" >&2; exit 1; }' \
	'for f in "$QUEUE_PROCESSING_DIR"/*.json; do' \
	'	[ -f "$f" ] || continue' \
	'	age=$(( $(date +%s) - $(stat -c %Y "$f") ))' \
	'	[ "$age" -gt "$timeout" ] && queue_retry_entry "$f"' \
	'done; true' || fail "recover"
[ -f "$ROOT/pending/$orphan" ] || fail "the orphan is not back in pending/"
t3_json_is "$ROOT/pending/$orphan" '$j->{retries}' 1
"$HQCTL" --root "$ROOT" enqueue "INSERT INTO t(v) VALUES (3)" >/dev/null
t3_run timeout 20 "$W" --once
assert_eq "$T3_RC" 0 "--once ($(tail -n 3 "$T/err"))"
assert_eq "$(hq_sql "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)")" \
	"1,2,3" "rows after --once"
if running; then
	fail "--once left hqd running"
fi
note "init, verify, start, status, stop, --foreground, restart, recover, --once"
