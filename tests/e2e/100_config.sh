#!/usr/bin/env bash
# Configuration: every bad value (environment or flag) exits 78 naming the
# variable or flag, before touching anything; flags beat variables beat
# defaults; -n checks and exits 0; an unknown flag exits 64; --help lists
# the variables; a few variables observed in effect.
. "$(dirname "$0")/lib.sh"

CROOT=$T/cfg/queue
CDB=$T/cfg/hive.db

# bad_env VAR VALUE: hqd refuses VAR=VALUE with 78 and names VAR.
bad_env() {
	HQ_RC=0
	env "$1=$2" timeout 10 "$HQD" --root "$CROOT" --db "$CDB" \
	    >"$T/run.out" 2>"$T/run.err" || HQ_RC=$?
	assert_eq "$HQ_RC" 78 "$1='$2': exit status"
	grep -q -F -- "$1" "$T/run.err" ||
	    fail "$1='$2': message does not name $1: $(cat "$T/run.err")"
	[ ! -e "$T/cfg" ] || fail "$1='$2': hqd created $T/cfg before refusing"
}

# bad_flag FLAG VALUE: the same for --FLAG=VALUE.
bad_flag() {
	hq_run --root "$CROOT" --db "$CDB" "--$1=$2"
	assert_eq "$HQ_RC" 78 "--$1=$2: exit status"
	grep -q -F -- "--$1" "$T/run.err" ||
	    fail "--$1=$2: message does not name --$1: $(cat "$T/run.err")"
	[ ! -e "$T/cfg" ] || fail "--$1=$2: hqd created $T/cfg before refusing"
}

bad_env QUEUE_BATCH_SIZE abc
bad_env QUEUE_BATCH_SIZE 5x
bad_env QUEUE_BATCH_SIZE 0
bad_env USE_EVENT_LOOP maybe
bad_env HQ_WORKERS 0
bad_env HQ_WORKERS -2
bad_env HQ_WORKERS two
bad_env QUEUE_MAX_RETRIES -1
bad_env QUEUE_MAX_RETRIES lots
bad_env HQ_SYNC fast
bad_env SQLITE_BUSY_TIMEOUT soon
bad_env SQLITE_TIMEOUT -5
bad_env HQ_SHUTDOWN_TIMEOUT later
bad_env QUEUE_POLL_INTERVAL often
bad_env EVENT_READ_TIMEOUT -1
bad_env HEARTBEAT_INTERVAL x
bad_env MAX_WATCHER_RESTARTS many
bad_env QUEUE_IDLE_EXIT never
bad_env QUEUE_PROCESSING_TIMEOUT abc
bad_env HQ_MAX_ENTRY_SIZE 1MB
bad_env HQ_RETRY_BASE -1
bad_env QUEUE_KEEP_COMPLETED perhaps
bad_env HQ_LOG_LEVEL loud
bad_flag sync fast
bad_flag workers 0
bad_flag batch-size abc
bad_flag event-loop maybe
bad_flag max-retries -1
bad_flag busy-timeout soon
hq_run --root "$CROOT" --db "$CDB" --sync fast
assert_eq "$HQ_RC" 78 "--sync fast (separate argument): exit status"
# A bad value is refused by -n as well.
HQ_RC=0
HQ_WORKERS=0 timeout 10 "$HQD" -n --root "$CROOT" --db "$CDB" \
    >/dev/null 2>"$T/run.err" || HQ_RC=$?
assert_eq "$HQ_RC" 78 "-n with HQ_WORKERS=0: exit status"

# Usage errors: 64.
hq_run --root "$CROOT" --db "$CDB" --no-such-flag
assert_eq "$HQ_RC" 64 "unknown flag: exit status"
hq_run --root "$CROOT" --db "$CDB" stray-argument
assert_eq "$HQ_RC" 64 "stray argument: exit status"
[ ! -e "$T/cfg" ] || fail "a usage error created $T/cfg"

# --help: exit 0, every variable of the contract listed; --version.
hq_run --help
assert_eq "$HQ_RC" 0 "--help: exit status"
for var in QUEUE_BASE_DIR HIVE_DB HQ_WORKERS QUEUE_BATCH_SIZE \
    QUEUE_MAX_RETRIES HQ_SYNC SQLITE_BUSY_TIMEOUT SQLITE_TIMEOUT \
    HQ_SHUTDOWN_TIMEOUT QUEUE_POLL_INTERVAL EVENT_READ_TIMEOUT \
    HEARTBEAT_INTERVAL MAX_WATCHER_RESTARTS USE_EVENT_LOOP QUEUE_IDLE_EXIT \
    QUEUE_PROCESSING_TIMEOUT HQ_MAX_ENTRY_SIZE HQ_RETRY_BASE \
    QUEUE_KEEP_COMPLETED HQ_LOG_LEVEL; do
	grep -q -w -- "$var" "$T/run.out" || fail "--help does not list $var"
done
grep -q -- '--workers' "$T/run.out" || fail "--help does not list --workers"
hq_run --version
assert_eq "$HQ_RC" 0 "--version: exit status"
assert_match "$(cat "$T/run.out")" '^hqd [0-9]' "--version output"

# -n: exit 0, says what it would run, creates nothing. Flags beat
# variables beat defaults.
hq_run -n --root "$CROOT" --db "$CDB"
assert_eq "$HQ_RC" 0 "-n: exit status"
assert_match "$(cat "$T/run.out")" "root $CROOT, db $CDB, 2 workers" "-n output"
[ ! -e "$T/cfg" ] || fail "-n created $T/cfg"
out=$(QUEUE_BASE_DIR=$T/env/queue HIVE_DB=$T/env/hive.db HQ_WORKERS=3 \
    "$HQD" -n)
assert_match "$out" "root $T/env/queue, db $T/env/hive.db, 3 workers" \
    "-n with variables only"
out=$(QUEUE_BASE_DIR=$T/env/queue HIVE_DB=$T/env/hive.db HQ_WORKERS=3 \
    "$HQD" -n --root "$CROOT" --db "$CDB" --workers 4)
assert_match "$out" "root $CROOT, db $CDB, 4 workers" "-n, flags over variables"
out=$(HQ_WORKERS=3 "$HQD" -n --root "$CROOT" --db "$CDB" -w 1)
assert_match "$out" ", 1 workers" "-n, -w over HQ_WORKERS"

# In effect: HQ_WORKERS=1 with --workers 3 runs three workers.
HQ_WORKERS=1 hq_start --workers 3
hq__three() { [ "$(hq_live_workers | wc -l)" -eq 3 ]; }
hq_wait 10 "three workers" hq__three
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status (3 workers)"
assert_eq "$(hq_log_count '3 workers, inotify')" 1 "started line (3 workers)"

# USE_EVENT_LOOP=false polls; --event-loop=true beats it.
hq_log_mark
USE_EVENT_LOOP=false hq_start
assert_eq "$(hq_log_count_since 'started: .*, polling, ')" 1 "USE_EVENT_LOOP=false"
hq_stop TERM
hq_log_mark
USE_EVENT_LOOP=false hq_start --event-loop=true
assert_eq "$(hq_log_count_since 'started: .*, inotify, ')" 1 "--event-loop=true"
hq_stop TERM

# QUEUE_KEEP_COMPLETED=true keeps applied entries in completed/;
# --keep-completed=false beats it.
hq_sql "CREATE TABLE t(v INTEGER)"
QUEUE_KEEP_COMPLETED=true hq_start
hq_drop 5_1.json '{"sql":"INSERT INTO t(v) VALUES (1)"}'
hq_wait_sql 10 "SELECT count(*) FROM t" 1
hq_wait_drained 10
hq__completed() { [ -f "$ROOT/completed/5_1.json" ]; }
hq_wait 5 "5_1.json in completed/" hq__completed
hq_stop TERM
QUEUE_KEEP_COMPLETED=true hq_start --keep-completed=false
hq_drop 5_2.json '{"sql":"INSERT INTO t(v) VALUES (2)"}'
hq_wait_sql 10 "SELECT count(*) FROM t" 2
hq_wait_drained 10
hq_stop TERM
[ ! -e "$ROOT/completed/5_2.json" ] || fail "--keep-completed=false kept 5_2.json"
assert_eq "$(hq_count completed)" 1 "files in completed/"

# QUEUE_IDLE_EXIT: hqd exits 0 on its own once idle that long.
QUEUE_IDLE_EXIT=1 hq_start
hq_wait_exit 10
assert_eq "$HQ_RC" 0 "exit status after QUEUE_IDLE_EXIT"
note "bad values refused with 78, flags over variables over defaults"
