# SPDX-License-Identifier: MIT
# queue-lib.sh: hq's drop-in for the old hive-mind queue library.
#
#   source /usr/share/hq/queue-lib.sh      # instead of the old queue-lib.sh
#
# Same function names, arguments, return codes and environment variables;
# entries go through `hqctl enqueue` (temp file, fsync, rename: never
# blocks on the database) and hqd is started on first use when no hqd runs
# for the root. Many producers starting at once start exactly one hqd: the
# root lock lets one win and the others exit at once.
# Works in bash; POSIX sh where noted. See docs/migration.md.

# Prevent double-sourcing.
if [ -n "${HQ_QUEUE_LIB_LOADED:-}" ]; then
	return 0 2>/dev/null || true
fi
HQ_QUEUE_LIB_LOADED=1

QUEUE_BASE_DIR="${QUEUE_BASE_DIR:-.hive-mind/queue}"
HIVE_DB="${HIVE_DB:-.hive-mind/hive.db}"
USE_QUEUE="${USE_QUEUE:-true}"
QUEUE_PENDING_DIR="$QUEUE_BASE_DIR/pending"
QUEUE_PROCESSING_DIR="$QUEUE_BASE_DIR/processing"
QUEUE_COMPLETED_DIR="$QUEUE_BASE_DIR/completed"
QUEUE_FAILED_DIR="$QUEUE_BASE_DIR/failed"
QUEUE_TMP_DIR="$QUEUE_BASE_DIR/.tmp"
QUEUE_STATS_FILE="$QUEUE_BASE_DIR/stats.json"
QUEUE_WORKER_LOG="${QUEUE_WORKER_LOG:-$QUEUE_BASE_DIR/worker.log}"
QUEUE_WORKER_PID="$QUEUE_BASE_DIR/.hqd.lock"

# The binaries: HQD/HQCTL win, then PATH, then beside this library.
_hq_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" 2>/dev/null && pwd)
if [ -z "${HQCTL:-}" ]; then
	if command -v hqctl >/dev/null 2>&1; then
		HQCTL=hqctl
	elif [ -x "$_hq_lib_dir/../../bin/hqctl" ]; then
		HQCTL="$_hq_lib_dir/../../bin/hqctl"
	else
		HQCTL=hqctl
	fi
fi
if [ -z "${HQD:-}" ]; then
	if command -v hqd >/dev/null 2>&1; then
		HQD=hqd
	elif [ -x "$_hq_lib_dir/../../sbin/hqd" ]; then
		HQD="$_hq_lib_dir/../../sbin/hqd"
	else
		HQD=hqd
	fi
fi

# Cache of the liveness check, as the old library did: one check a second.
_HQ_ALIVE_AT=-1

# queue_log LEVEL MESSAGE: a line in the worker log.
queue_log() {
	printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    "$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')" "$2" \
	    >>"$QUEUE_WORKER_LOG" 2>/dev/null || true
}

# queue_init_dirs: create the queue tree (hqd does the same on start).
queue_init_dirs() {
	mkdir -p "$QUEUE_PENDING_DIR" "$QUEUE_PROCESSING_DIR" \
	    "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" "$QUEUE_TMP_DIR" \
	    2>/dev/null || return 1
	return 0
}

# queue_is_available: the tree exists and hqctl can be run.
queue_is_available() {
	[ -d "$QUEUE_PENDING_DIR" ] && [ -d "$QUEUE_TMP_DIR" ] &&
	    command -v "$HQCTL" >/dev/null 2>&1
}

# queue_worker_is_running: 0 when an hqd holds the root. No fork: reads
# the pid from the lock file and looks in /proc.
queue_worker_is_running() {
	local pid=""
	[ -r "$QUEUE_WORKER_PID" ] || return 1
	read -r pid <"$QUEUE_WORKER_PID" 2>/dev/null || true
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	# A recycled pid: trust the lock only if that process is an hqd.
	case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
	hqd*) return 0 ;;
	*) return 1 ;;
	esac
}

# queue_ensure_worker: start hqd for this root unless one runs. Returns
# at once; the new hqd applies whatever is already queued.
queue_ensure_worker() {
	local now=${EPOCHSECONDS:-$(date +%s)}
	if [ "$_HQ_ALIVE_AT" = "$now" ]; then
		return 0
	fi
	if queue_worker_is_running; then
		_HQ_ALIVE_AT=$now
		return 0
	fi
	queue_init_dirs || return 1
	# Every concurrent caller may get here; hqd's root lock keeps one.
	if command -v setsid >/dev/null 2>&1; then
		setsid "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB" \
		    </dev/null >>"$QUEUE_WORKER_LOG" 2>&1 &
	else
		nohup "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB" \
		    </dev/null >>"$QUEUE_WORKER_LOG" 2>&1 &
	fi
	return 0
}

# queue_stop_worker: TERM, wait up to 5 s for the drain, then KILL.
queue_stop_worker() {
	local pid="" i=0
	queue_worker_is_running || return 0
	read -r pid <"$QUEUE_WORKER_PID"
	kill -TERM "$pid" 2>/dev/null || return 0
	while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -d "/proc/$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	_HQ_ALIVE_AT=-1
	return 0
}

# Direct execution, used when USE_QUEUE=false: the old library's sqlite3
# path, unchanged (needs the sqlite3 command).
queue_exec_sql() {
	local sql="$1" retries="${2:-3}" i=0 timeout
	timeout="${SQLITE_BUSY_TIMEOUT:-${SQLITE_TIMEOUT:-5000}}"
	while :; do
		if sqlite3 -cmd ".timeout $timeout" "$HIVE_DB" "$sql" \
		    >/dev/null 2>&1; then
			# one byte per direct write: the "direct" statistic
			printf 'x' >>"$QUEUE_BASE_DIR/.direct" 2>/dev/null || true
			return 0
		fi
		i=$((i + 1))
		[ $i -ge "$retries" ] && return 1
		sleep "0.$((i * 2))"
	done
}
queue_exec_sql_direct() { queue_exec_sql "$@"; }

# queue_db_write SQL [OPERATION] [PRIORITY] [METADATA_JSON]
queue_db_write() {
	local sql="$1" op="${2:-generic}" prio="${3:-5}" meta="${4:-}"
	[ -n "$sql" ] || return 1
	case "$USE_QUEUE" in
	false | 0 | no | off) queue_exec_sql "$sql"; return $? ;;
	esac
	queue_ensure_worker
	if [ -n "$meta" ]; then
		"$HQCTL" --root "$QUEUE_BASE_DIR" enqueue --priority "$prio" \
		    --op "$op" --metadata "$meta" -- "$sql" >/dev/null || {
			queue_log error "enqueue failed: $op"
			return 1
		}
	else
		"$HQCTL" --root "$QUEUE_BASE_DIR" enqueue --priority "$prio" \
		    --op "$op" -- "$sql" >/dev/null || {
			queue_log error "enqueue failed: $op"
			return 1
		}
	fi
	return 0
}

# queue_enqueue OPERATION PRIORITY SQL [METADATA_JSON]
queue_enqueue() {
	queue_db_write "$3" "$1" "$2" "${4:-}"
}

# queue_write SQL [OPERATION] [PRIORITY] [METADATA]: the writer's name.
queue_write() {
	queue_db_write "$@"
}

# queue_write_batch SQL... [OPERATION] [PRIORITY]: several statements,
# applied together (one entry is one savepoint).
queue_write_batch() {
	queue_db_write "$1" "${2:-batch}" "${3:-5}"
}

queue_update_session() {
	queue_db_write "UPDATE sessions SET $2 WHERE id = '$1';" \
	    update_session 3
}

queue_update_instance() {
	queue_db_write "UPDATE instance_sessions SET $2 WHERE instance_id = '$1';" \
	    update_instance 4
}

# queue_insert_log SESSION_ID LEVEL MESSAGE [DATA_JSON]
queue_insert_log() {
	local msg="$3" data="${4:-"{}"}"
	# quotes doubled for SQL, as the old library did
	msg=$(printf '%s' "$msg" | sed "s/'/''/g")
	data=$(printf '%s' "$data" | sed "s/'/''/g")
	queue_db_write "INSERT INTO session_logs (session_id, log_level, message, data) VALUES ('$1', '$2', '$msg', '$data');" \
	    insert_log 7
}

# _hq_count DIR: entries (not notes, not hidden) in DIR and its subfolders.
_hq_count() {
	local n=0 f
	for f in "$1"/*.json "$1"/*.msgpack "$1"/*/*.json "$1"/*/*.msgpack; do
		[ -e "$f" ] && n=$((n + 1))
	done
	printf '%d\n' "$n"
}

queue_size() { _hq_count "$QUEUE_PENDING_DIR"; }
queue_processing_count() { _hq_count "$QUEUE_PROCESSING_DIR"; }
queue_failed_count() { _hq_count "$QUEUE_FAILED_DIR"; }

# _hq_json_num JSON KEY: the first integer under KEY in hqctl's JSON: the
# top-level total, which comes before the per-worker objects.
_hq_json_num() {
	if [[ $1 =~ \"$2\":([0-9]+) ]]; then
		printf '%s' "${BASH_REMATCH[1]}"
	fi
}

# queue_stats_get: the old statistics object, from hqd's counters.
queue_stats_get() {
	local js applied failed retried pending processing direct=0
	js=$("$HQCTL" --root "$QUEUE_BASE_DIR" stats --json 2>/dev/null)
	applied=$(_hq_json_num "$js" entries_applied)
	failed=$(_hq_json_num "$js" entries_failed)
	retried=$(_hq_json_num "$js" entries_retried)
	pending=$(queue_size)
	processing=$(queue_processing_count)
	if [ -f "$QUEUE_BASE_DIR/.direct" ]; then
		direct=$(wc -c <"$QUEUE_BASE_DIR/.direct" | tr -d ' ')
	fi
	printf '{"enqueued":%d,"processed":%d,"failed":%d,"retried":%d,"direct":%d}\n' \
	    $((${applied:-0} + ${failed:-0} + pending + processing)) \
	    "${applied:-0}" "${failed:-0}" "${retried:-0}" "$direct"
}

# queue_status: the old human summary, with hqd's table under it.
queue_status() {
	echo "Queue Status:"
	echo "  Directory: $QUEUE_BASE_DIR"
	echo "  Pending entries: $(queue_size)"
	if queue_worker_is_running; then
		local pid
		read -r pid <"$QUEUE_WORKER_PID"
		echo "  Worker: running (PID: $pid)"
	else
		echo "  Worker: not running"
	fi
	echo "Statistics:"
	echo "  $(queue_stats_get)"
}

# queue_wait_drain [SECONDS]: 0 once pending/ and processing/ are empty.
queue_wait_drain() {
	local deadline=$(( $(date +%s) + ${1:-30} ))
	while [ "$(queue_size)" -gt 0 ] || [ "$(queue_processing_count)" -gt 0 ]
	do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# queue_list_pending [N]: pending entries in application order.
queue_list_pending() {
	local n="${1:-10}"
	(cd "$QUEUE_PENDING_DIR" 2>/dev/null &&
	    ls -1 -- *.json *.msgpack 2>/dev/null |
	    sort -t_ -k1,1n -k2,2V | head -n "$n" |
	    sed "s|^|$QUEUE_PENDING_DIR/|")
}

queue_read_entry() { cat -- "$1"; }

# queue_retry_failed [ID|--all]: dead letters back to pending/.
queue_retry_failed() {
	"$HQCTL" --root "$QUEUE_BASE_DIR" retry "${1:---all}"
}

# queue_cleanup_old [HOURS]: remove completed/ and failed/ files older
# than HOURS (default 24) and stale temp files.
queue_cleanup_old() {
	local mins=$(( ${1:-24} * 60 ))
	find "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" -type f \
	    -mmin +"$mins" -delete 2>/dev/null || true
	find "$QUEUE_TMP_DIR" -type f -mmin +60 -delete 2>/dev/null || true
	return 0
}
queue_cleanup() { queue_cleanup_old "$@"; }

# queue_reset: stop hqd and empty the queue (destructive, for tests).
queue_reset() {
	queue_stop_worker
	rm -rf "$QUEUE_PENDING_DIR" "$QUEUE_PROCESSING_DIR" \
	    "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" "$QUEUE_TMP_DIR"
	rm -f "$QUEUE_BASE_DIR/.direct" "$QUEUE_STATS_FILE"
	queue_init_dirs
}

# json_escape_string STRING: the body of a JSON string literal.
json_escape_string() {
	printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	    -e 's/\t/\\t/g' -e 's/\r/\\r/g' | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
}
