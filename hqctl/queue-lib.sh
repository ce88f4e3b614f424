# SPDX-License-Identifier: MIT
# queue-lib.sh: hq's drop-in for the old hive-mind queue library (its
# queue-lib.sh and queue-autostart.sh), with queue-lib-more.sh beside it.
#
#   source /usr/share/hq/queue-lib.sh      # instead of the old queue-lib.sh
#
# The old surface (see queue-lib-more.sh's header, docs/migration.md).
#
# A hook is a new bash that sources this file and writes once: bash parses
# all of it every time (docs/performance.md). So this file holds only the
# variables and a write's path, with no $(...) and no external command but
# hqctl (one fork); every other function is a one-line stub that loads
# queue-lib-more.sh, from beside this file, on first use. Keep it short:
# comments cost too.
#
# The old variables are set for callers, not used here, and the stubs
# pass on whatever arguments they get: tell shellcheck.
# shellcheck disable=SC2034,SC2119,SC2120

HQ_QUEUE_LIB_LOADED=1

# The library's directory, absolute, without a fork (the old one ran
# dirname): the binaries may be found relative to it.
QUEUE_LIB_DIR=${BASH_SOURCE[0]:-$0}
case $QUEUE_LIB_DIR in
*/*) QUEUE_LIB_DIR=${QUEUE_LIB_DIR%/*} ;;
*) QUEUE_LIB_DIR=. ;;
esac
case $QUEUE_LIB_DIR in
/*) ;;
.) QUEUE_LIB_DIR=$PWD ;;
*) QUEUE_LIB_DIR=$PWD/$QUEUE_LIB_DIR ;;
esac
# The old library set it when queue-autostart.sh was beside it; hq's
# library has the auto-start functions built in.
QUEUE_AUTOSTART_AVAILABLE=true
export QUEUE_AUTOSTART_AVAILABLE

QUEUE_BASE_DIR=${QUEUE_BASE_DIR:-.hive-mind/queue}
QUEUE_PENDING_DIR=$QUEUE_BASE_DIR/pending
QUEUE_PROCESSING_DIR=$QUEUE_BASE_DIR/processing
QUEUE_COMPLETED_DIR=$QUEUE_BASE_DIR/completed
QUEUE_FAILED_DIR=$QUEUE_BASE_DIR/failed
QUEUE_TMP_DIR=$QUEUE_BASE_DIR/.tmp
QUEUE_SEQ_FILE=$QUEUE_BASE_DIR/.seq
# hqd's lock file: an flock held while it runs, holding its pid. It is
# both the old worker's lock file and its pid file.
QUEUE_LOCK_FILE=$QUEUE_BASE_DIR/.hqd.lock
QUEUE_WORKER_PID=$QUEUE_BASE_DIR/.hqd.lock
QUEUE_WORKER_LOG=${QUEUE_WORKER_LOG:-$QUEUE_BASE_DIR/worker.log}
QUEUE_STATS_FILE=$QUEUE_BASE_DIR/stats.json
HIVE_DB=${HIVE_DB:-.hive-mind/hive.db}
# The worker's settings, as hqd reads them from the environment: unset,
# they show hqd's defaults (docs/formats.md, "Configuration").
QUEUE_POLL_INTERVAL=${QUEUE_POLL_INTERVAL:-0.1}
QUEUE_BATCH_SIZE=${QUEUE_BATCH_SIZE:-256}
QUEUE_MAX_RETRIES=${QUEUE_MAX_RETRIES:-3}
QUEUE_IDLE_EXIT=${QUEUE_IDLE_EXIT:-0}
QUEUE_PROCESSING_TIMEOUT=${QUEUE_PROCESSING_TIMEOUT:-300}
# SQLITE_TIMEOUT is the direct path's (USE_QUEUE=false), as before;
# hqd waits SQLITE_BUSY_TIMEOUT when set.
SQLITE_TIMEOUT=${SQLITE_TIMEOUT:-10000}
SQLITE_BUSY_TIMEOUT=${SQLITE_BUSY_TIMEOUT:-5000}
USE_QUEUE=${USE_QUEUE:-true}
# queue-autostart.sh's settings and paths.
QUEUE_AUTOSTART_LOADED=1
HEALTH_CACHE_TTL=${HEALTH_CACHE_TTL:-5}
HEARTBEAT_TIMEOUT=${HEARTBEAT_TIMEOUT:-30}
STARTUP_LOCK_TIMEOUT=${STARTUP_LOCK_TIMEOUT:-10}
HEARTBEAT_INTERVAL=${HEARTBEAT_INTERVAL:-5}
STARTUP_WAIT_TIMEOUT=${STARTUP_WAIT_TIMEOUT:-2}
HEALTH_CACHE_FILE=$QUEUE_BASE_DIR/.health_cache
HEARTBEAT_FILE=$QUEUE_BASE_DIR/.heartbeat
STARTUP_LOCK_DIR=$QUEUE_BASE_DIR/.startup_lock

# The binaries: HQD/HQCTL win, then PATH, then beside this library
# (share/hq/ -> bin/, sbin/).
if [ -z "${HQCTL:-}" ]; then
	if command -v hqctl >/dev/null 2>&1; then
		HQCTL=hqctl
	elif [ -x "$QUEUE_LIB_DIR/../../bin/hqctl" ]; then
		HQCTL="$QUEUE_LIB_DIR/../../bin/hqctl"
	else
		HQCTL=hqctl
	fi
fi
if [ -z "${HQD:-}" ]; then
	if command -v hqd >/dev/null 2>&1; then
		HQD=hqd
	elif [ -x "$QUEUE_LIB_DIR/../../sbin/hqd" ]; then
		HQD="$QUEUE_LIB_DIR/../../sbin/hqd"
	else
		HQD=hqd
	fi
fi

# Second of the last liveness check that found hqd: one check a second.
_HQ_ALIVE_AT=-1
# The rest of the library (exported for a child bash's stubs), and
# whether it is loaded (no: sourcing this file brings the stubs back).
HQ_QUEUE_LIB_MORE=$QUEUE_LIB_DIR/queue-lib-more.sh
_HQ_MORE_LOADED=

# --- writing -------------------------------------------------------------

# The old library exported its functions (bash -c children see them):
# those down to the "set +a" are, by allexport (cheaper than export -f),
# unless HQ_QUEUE_LIB_EXPORT=false. The caller's -a is left as it was.
case ${HQ_QUEUE_LIB_EXPORT:-true}:$- in
false:* | 0:* | no:* | off:* | *:*a*) _HQ_SET_A= ;;
*)
	_HQ_SET_A=1
	set -a
	export HQ_QUEUE_LIB_MORE
	;;
esac

# queue_db_write SQL [OPERATION] [PRIORITY] [METADATA_JSON]: queue one
# write (hqctl --lenient refuses nothing the old library accepted: a
# warning in worker.log). 0 when queued (or applied directly), 1 when SQL
# is empty or the write could be neither (then in failed/ if possible).
queue_db_write() {
	local sql="${1-}" op="${2:-generic}" prio="${3:-5}" meta="${4-}" rc=0
	[ -n "$sql" ] || return 1
	case $USE_QUEUE in
	false | FALSE | False | 0 | no | NO | off | OFF)
		queue_exec_sql_direct "$sql"
		return
		;;
	esac
	queue_ensure_worker
	[ "$meta" != '{}' ] || meta=
	# hqctl's enqueue in this process (hqenqueue.so), else the one exec.
	# An argument holds at most 128 KiB (MAX_ARG_STRLEN): _hq_enqueue
	# sends a longer SQL through stdin.
	if _hq_builtin; then
		hqenqueue "$QUEUE_BASE_DIR" "$prio" "$op" "$meta" "$sql" \
		    2>>"$QUEUE_WORKER_LOG" || rc=$?
	elif [ $((${#sql} + ${#meta})) -le 30000 ]; then
		"$HQCTL" --root "$QUEUE_BASE_DIR" enqueue --lenient \
		    --priority "$prio" --op "$op" ${meta:+--metadata "$meta"} \
		    -- "$sql" >/dev/null 2>>"$QUEUE_WORKER_LOG" || rc=$?
	else
		_hq_enqueue "$QUEUE_WORKER_LOG" "$sql" "$op" "$prio" "$meta" ||
		    rc=$?
	fi
	[ $rc -ne 0 ] || return 0
	_hq_not_queued "$rc" "$sql" "$op" "$prio" "$meta"
}

# _hq_builtin: 0 when hqenqueue, the bash builtin that does hqctl's
# enqueue without a fork or an exec (docs/performance.md, "A hook"), is
# there to use: HQ_BASH_BUILTIN is not false, and it is loaded, or loads
# now (tried once per shell, $$: subshells share the answer).
# HQ_BASH_BUILTIN names the file; else beside $HQCTL (a build tree), else
# libexec/hq/ beside this library's share/hq/.
_hq_builtin() {
	local so=${HQ_BASH_BUILTIN-}
	case $so in
	false | 0 | no | off) return 1 ;;
	esac
	! enable hqenqueue 2>/dev/null || return 0
	[ "${_HQ_BUILTIN_TRIED-}" != "$$" ] || return 1
	_HQ_BUILTIN_TRIED=$$
	case $so:$HQCTL in
	:*/*) so=${HQCTL%/*}/hqenqueue.so ;;
	esac
	[ -n "$so" ] && [ -r "$so" ] ||
	    so=$QUEUE_LIB_DIR/../../libexec/hq/hqenqueue.so
	[ -r "$so" ] && enable -f "$so" hqenqueue 2>/dev/null
}

# queue_write SQL [OPERATION] [PRIORITY] [METADATA]: the same.
queue_write() {
	queue_db_write "$@"
}

# queue_enqueue OPERATION PRIORITY SQL [METADATA_JSON]
queue_enqueue() {
	queue_db_write "${3-}" "${1-}" "${2-}" "${4-}"
}

queue_update_session() {
	queue_db_write "UPDATE sessions SET ${2-} WHERE id = '${1-}';" \
	    update_session 3
}

queue_update_instance() {
	queue_db_write "UPDATE instance_sessions SET ${2-} WHERE instance_id = '${1-}';" \
	    update_instance 4
}

# queue_insert_log SESSION_ID LEVEL MESSAGE [DATA_JSON]
queue_insert_log() {
	local msg="${3-}" data="${4:-"{}"}" q="'"
	# quotes doubled for SQL (no sed: no fork)
	msg=${msg//$q/$q$q}
	data=${data//$q/$q$q}
	queue_db_write "INSERT INTO session_logs (session_id, log_level, \
message, data) VALUES ('${1-}', '${2-}', '$msg', '$data');" insert_log 7
}

# queue_worker_is_running: 0 when an hqd holds the root: the lock file's
# pid is a live hqd (_hq_is_hqd's test, inline: no fork).
queue_worker_is_running() {
	local pid="" st=""
	[ -r "$QUEUE_WORKER_PID" ] || return 1
	{ read -r pid <"$QUEUE_WORKER_PID"; } 2>/dev/null || true
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	{ read -r st <"/proc/$pid/stat"; } 2>/dev/null || return 1
	case $st in
	*" (hqd"*") "[!ZX]*) return 0 ;;
	*) return 1 ;;
	esac
}

# queue_ensure_worker: start hqd for this root unless one runs. Returns
# at once; the new hqd applies whatever is already queued.
queue_ensure_worker() {
	[ "$_HQ_ALIVE_AT" != "$EPOCHSECONDS" ] || return 0
	if queue_worker_is_running; then
		_HQ_ALIVE_AT=$EPOCHSECONDS
		return 0
	fi
	_hq_start_hqd
}

# --- the rest, on first use ----------------------------------------------

# _hq_more ARGS...: a stub's body: source queue-lib-more.sh (its functions
# replace the stubs, keeping their export), then call the stub's function.
# 1 with a line on stderr when the file cannot be read or lacks it.
_hq_more() {
	if [ -n "${_HQ_MORE_LOADED-}" ]; then
		echo "queue-lib.sh: ${FUNCNAME[1]}: not in $HQ_QUEUE_LIB_MORE" >&2
		return 1
	fi
	if ! [ -r "${HQ_QUEUE_LIB_MORE-}" ]; then
		echo "queue-lib.sh: ${FUNCNAME[1]} needs ${HQ_QUEUE_LIB_MORE:-queue-lib-more.sh} (beside queue-lib.sh): cannot read it" >&2
		return 1
	fi
	# shellcheck source=queue-lib-more.sh
	. "$HQ_QUEUE_LIB_MORE" || return 1
	"${FUNCNAME[1]}" "$@"
}

queue_log() { _hq_more "$@"; }
queue_init_dirs() { _hq_more "$@"; }
queue_is_available() { _hq_more "$@"; }
queue_next_seq() { _hq_more "$@"; }
json_escape_string() { _hq_more "$@"; }
queue_format_json() { _hq_more "$@"; }
json_get_field() { _hq_more "$@"; }
queue_exec_sql_direct() { _hq_more "$@"; }
queue_exec_sql() { _hq_more "$@"; }
queue_size() { _hq_more "$@"; }
queue_processing_count() { _hq_more "$@"; }
queue_list_pending() { _hq_more "$@"; }
queue_read_entry() { _hq_more "$@"; }
queue_stats_get() { _hq_more "$@"; }
queue_stats_increment() { _hq_more "$@"; }
queue_retry_entry() { _hq_more "$@"; }
queue_recover_orphans() { _hq_more "$@"; }
queue_stop_worker() { _hq_more "$@"; }
queue_health_check_full() { _hq_more "$@"; }
queue_health_check_cached() { _hq_more "$@"; }
queue_atomic_start_worker() { _hq_more "$@"; }
queue_ensure_worker_fast() { _hq_more "$@"; }
queue_invalidate_health_cache() { _hq_more "$@"; }
queue_health_cache_status() { _hq_more "$@"; }
queue_heartbeat_status() { _hq_more "$@"; }
queue_cleanup_old() { _hq_more "$@"; }
queue_reset() { _hq_more "$@"; }
_hq_not_queued() { _hq_more "$@"; }
_hq_start_hqd() { _hq_more "$@"; }
_hq_enqueue() { _hq_more "$@"; }

[ -z "$_HQ_SET_A" ] || set +a

# hq's additions, not exported (as before). queue_write_batch SQL [OP]
# [PRIO]: several statements in one SQL, applied together (one entry is
# one savepoint).
queue_write_batch() {
	queue_db_write "${1-}" "${2:-batch}" "${3:-5}"
}
queue_failed_count() { _hq_more "$@"; }
queue_status() { _hq_more "$@"; }
queue_wait_drain() { _hq_more "$@"; }
queue_retry_failed() { _hq_more "$@"; }
queue_cleanup() { _hq_more "$@"; }

# HQ_QUEUE_LIB_LAZY=false: every real function now, as the old library
# (what `declare -f` shows, functions the caller redefines and keeps), at
# the old cost; a missing queue-lib-more.sh fails the source.
case ${HQ_QUEUE_LIB_LAZY:-true} in
false | 0 | no | off)
	# shellcheck source=queue-lib-more.sh
	. "$HQ_QUEUE_LIB_MORE"
	;;
esac
