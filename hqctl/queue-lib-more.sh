# SPDX-License-Identifier: MIT
# queue-lib-more.sh: the functions of hq's queue-lib.sh that a hook's
# write does not need. queue-lib.sh defines each as a stub that sources
# this file ($HQ_QUEUE_LIB_MORE, beside it) on first use; then they are
# these, exported as the stubs were. Source queue-lib.sh, not this file:
# the variables are set there.
#
# Together they are the old library's caller-facing surface: every
# function and variable of the old queue-lib.sh and queue-autostart.sh but
# the old worker's own internals (claiming, completing, failing, writing
# the heartbeat: hqd does those), with the same argument order and return
# codes. Writes go through `hqctl enqueue` (temp file, fsync, rename:
# never blocks on the database); hqd is started on first use when none
# runs for the root, and many producers starting at once start exactly
# one (hqd's root lock keeps one, the others exit at once). Safe under
# `set -u` and `set -e`; no shell option of the caller is changed. Bash 5
# (EPOCHSECONDS, EPOCHREALTIME). See docs/migration.md.
#
# _HQ_MORE_LOADED is queue-lib.sh's: tell shellcheck.
# shellcheck disable=SC2034

# --- logging and the tree ----------------------------------------------

# queue_log LEVEL MESSAGE...: a line in the worker log, beside hqd's
# (same stamp). Nothing when the queue root does not exist (as before).
queue_log() {
	local level="${1:-info}"
	[ -d "$QUEUE_BASE_DIR" ] || return 0
	shift || true
	TZ=UTC0 printf '%(%Y-%m-%dT%H:%M:%SZ)T queue-lib: %s: %s\n' -1 \
	    "$level" "$*" >>"$QUEUE_WORKER_LOG" 2>/dev/null || true
	return 0
}

# queue_init_dirs: the queue tree, .seq and stats.json (what hqd makes on
# start too; the old tools check them). 0, or 1 when a folder cannot be
# made.
queue_init_dirs() {
	local -
	if ! [ -d "$QUEUE_PENDING_DIR" ] || ! [ -d "$QUEUE_PROCESSING_DIR" ] ||
	    ! [ -d "$QUEUE_COMPLETED_DIR" ] || ! [ -d "$QUEUE_FAILED_DIR" ] ||
	    ! [ -d "$QUEUE_TMP_DIR" ]; then
		mkdir -p "$QUEUE_PENDING_DIR" "$QUEUE_PROCESSING_DIR" \
		    "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" \
		    "$QUEUE_TMP_DIR" 2>/dev/null || {
			echo "ERROR: Failed to create directory: $QUEUE_BASE_DIR" >&2
			return 1
		}
	fi
	# noclobber: created only when missing, never over hqd's.
	set -C
	[ -e "$QUEUE_SEQ_FILE" ] ||
	    { printf '0\n' >"$QUEUE_SEQ_FILE"; } 2>/dev/null || true
	[ -e "$QUEUE_STATS_FILE" ] ||
	    { printf '%s\n' '{"enqueued":0,"processed":0,"failed":0,"retried":0,"direct":0}' \
	    >"$QUEUE_STATS_FILE"; } 2>/dev/null || true
	return 0
}

# queue_is_available: 0 when the tree is there.
queue_is_available() {
	[ -d "$QUEUE_PENDING_DIR" ] && [ -d "$QUEUE_TMP_DIR" ]
}

# queue_next_seq: "{epoch-ns}_{counter}", the counter kept in .seq under
# flock (hq names entries itself; this is for callers that want one).
queue_next_seq() {
	local fd counter="" ts=${EPOCHREALTIME//[!0-9]/}000
	[ -d "$QUEUE_BASE_DIR" ] || queue_init_dirs || return 1
	# Braces: exec's own 2>/dev/null would stay on the caller's shell.
	{ exec {fd}>>"$QUEUE_SEQ_FILE"; } 2>/dev/null || return 1
	if ! command -v flock >/dev/null 2>&1 ||
	    ! flock -w 1 "$fd" 2>/dev/null; then
		exec {fd}>&-
		printf '%s_%s\n' "$ts" "$$"
		return 0
	fi
	read -r counter <"$QUEUE_SEQ_FILE" || true
	case $counter in
	'' | *[!0-9]*) counter=0 ;;
	esac
	counter=$((counter + 1))
	printf '%s\n' "$counter" >"$QUEUE_SEQ_FILE"
	exec {fd}>&-
	printf '%s_%s\n' "$ts" "$counter"
}

# --- JSON helpers -------------------------------------------------------

# json_escape_string STRING: the body of a JSON string literal, without
# the quotes (as the old library without jq; with jq it added them: see
# docs/migration.md). Bytes that are not UTF-8 stay as they are, as in
# hq's entries.
json_escape_string() {
	local s="${1-}" i c h u
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	if [[ $s == *[[:cntrl:]]* ]]; then
		s=${s//$'\b'/\\b}
		s=${s//$'\f'/\\f}
		for ((i = 1; i < 32; i++)); do
			printf -v h '%02x' "$i"
			printf -v c '%b' "\\x$h"
			printf -v u '\\u%04x' "$i"
			s=${s//"$c"/$u}
		done
	fi
	printf '%s' "$s"
}

# _hq_json_value TEXT: TEXT when it is a JSON value (jq decides when it is
# there, as in the old library), else TEXT as a JSON string: the old
# library with jq dropped such metadata, hq keeps it.
_hq_json_value() {
	if command -v jq >/dev/null 2>&1; then
		if printf '%s' "$1" | jq -e -s 'length == 1' >/dev/null 2>&1
		then
			printf '%s' "$1"
			return 0
		fi
	else
		case $1 in
		\{*\} | \[*\] | \"*\" | true | false | null | [0-9-]*)
			printf '%s' "$1"
			return 0
			;;
		esac
	fi
	printf '"%s"' "$(json_escape_string "$1")"
}

# queue_format_json SQL OPERATION PRIORITY METADATA SEQ: an entry, as the
# old library wrote it (one line, no stray '}').
queue_format_json() {
	local sql="${1-}" op="${2:-generic}" prio="${3:-5}" meta="${4:-}"
	local seq="${5-}" at
	[ -n "$meta" ] || meta='{}'
	case $prio in
	'' | *[!0-9]*) prio=5 ;;
	esac
	[ "$prio" -ge 1 ] || prio=1
	[ "$prio" -le 10 ] || prio=10
	TZ=UTC0 printf -v at '%(%Y-%m-%dT%H:%M:%SZ)T' -1
	printf '{"seq":"%s","priority":%d,"operation":"%s","sql":"%s","metadata":%s,"created_at":"%s","retries":0}\n' \
	    "$(json_escape_string "$seq")" "$prio" \
	    "$(json_escape_string "$op")" "$(json_escape_string "$sql")" \
	    "$(_hq_json_value "$meta")" "$at"
}

# json_get_field JSON FIELD: the first value of "FIELD" in JSON: a
# string's body (escapes as they are) or the literal. 0, or 1 when FIELD
# is not there. The old one cut values at the first ',' or '}' and kept
# only what followed a value's last ':'; this one returns them whole.
json_get_field() {
	local json="${1-}" re v
	re="\"${2-}\"[[:space:]]*:[[:space:]]*(\"(([^\"\\\\]|\\\\.)*)\"|([^,}[:space:]]+))"
	[[ $json =~ $re ]] || return 1
	if [ -n "${BASH_REMATCH[4]}" ]; then
		v=${BASH_REMATCH[4]}
	else
		v=${BASH_REMATCH[2]}
	fi
	printf '%s\n' "$v"
}

# --- writing -------------------------------------------------------------

# _hq_dead_letter PRIORITY OPERATION SQL METADATA REASON: put a write that
# could not be queued in failed/ with its reason, as hqd does (note first,
# then the entry; docs/formats.md): `hqctl failed` lists it, `hqctl retry`
# queues it. 0, or 1 when even that is impossible. Not the hot path.
_hq_dead_letter() {
	local prio="$1" seq name at note entry
	case $prio in
	'' | *[!0-9]*) prio=5 ;;
	esac
	[ "$prio" -ge 1 ] || prio=1
	[ "$prio" -le 10 ] || prio=10
	seq=${EPOCHREALTIME//[!0-9]/}000_$$_$RANDOM
	name=${prio}_$seq.json
	TZ=UTC0 printf -v at '%(%Y-%m-%dT%H:%M:%SZ)T' -1
	mkdir -p "$QUEUE_FAILED_DIR" 2>/dev/null || return 1
	note=$QUEUE_FAILED_DIR/.$name.err.tmp
	entry=$QUEUE_FAILED_DIR/.$name.tmp
	printf '{"entry":"%s","error":"%s","attempts":0,"failed_at":"%s","worker":-1}\n' \
	    "$name" "$(json_escape_string "$5")" "$at" >"$note" 2>/dev/null &&
	    mv -f "$note" "$QUEUE_FAILED_DIR/$name.err" 2>/dev/null &&
	    queue_format_json "$3" "$2" "$prio" "$4" "$seq" >"$entry" 2>/dev/null &&
	    mv -f "$entry" "$QUEUE_FAILED_DIR/$name" 2>/dev/null && {
		queue_log error "$name: in failed/: $5"
		return 0
	}
	rm -f "$note" "$entry" 2>/dev/null
	return 1
}

# _hq_enqueue LOG SQL OPERATION PRIORITY METADATA: hqctl enqueue
# --lenient, its warnings appended to LOG (empty: the caller's stderr);
# hqctl's status. An argument holds at most 128 KiB (MAX_ARG_STRLEN), so
# a long SQL (a character is at most 4 bytes) goes through stdin.
# queue_db_write calls hqctl itself for the usual write.
_hq_enqueue() {
	local log="$1" sql="$2" meta="$5"
	set -- --root "$QUEUE_BASE_DIR" enqueue --lenient --priority "$4" \
	    --op "$3" ${meta:+--metadata "$meta"} --
	if [ $((${#sql} + ${#meta})) -le 30000 ]; then
		if [ -n "$log" ]; then
			"$HQCTL" "$@" "$sql" >/dev/null 2>>"$log"
		else
			"$HQCTL" "$@" "$sql" >/dev/null
		fi
	elif [ -n "$log" ]; then
		printf '%s' "$sql" | "$HQCTL" "$@" - >/dev/null 2>>"$log"
	else
		printf '%s' "$sql" | "$HQCTL" "$@" - >/dev/null
	fi
}

# _hq_not_queued STATUS SQL OPERATION PRIORITY METADATA: queue_db_write's
# hqctl exited with STATUS. 1 is retried (see below); else hqctl could
# not write the entry (a full disk, a broken tree, no hqctl). As the old
# library: straight to the database when it can; else a dead letter, so
# that the write is never only a return code. 0 when queued or applied.
_hq_not_queued() {
	local rc=$1 why
	# hqctl never exits 1 from enqueue: 1 is the shell failing to open
	# worker.log (its folder gone, say). Again, warnings to the caller.
	if [ "$rc" -eq 1 ]; then
		rc=0
		_hq_enqueue "" "$2" "$3" "$4" "$5" || rc=$?
		[ $rc -ne 0 ] || return 0
	fi
	case $rc in
	126) why="hqctl ($HQCTL) cannot run" ;;
	127) why="hqctl ($HQCTL) not found" ;;
	*) why="hqctl enqueue failed with status $rc (see worker.log)" ;;
	esac
	queue_log error "could not queue a write ($3): $why"
	if command -v sqlite3 >/dev/null 2>&1 && queue_exec_sql_direct "$2"; then
		queue_log warn "applied directly instead ($3)"
		return 0
	fi
	_hq_dead_letter "$4" "$3" "$2" "$5" "could not be queued: $why" ||
	    queue_log error "write lost: failed/ cannot be written either ($3)"
	return 1
}

# Direct execution (USE_QUEUE=false, or nothing could be queued): the old
# library's sqlite3 path. queue_exec_sql_direct SQL [MAX_RETRIES]: 0, or
# 1 (no database: it is not created; an SQL error; still locked after the
# retries). Retries only "locked"/"busy", backing off 0.1, 0.2, 0.4 s.
queue_exec_sql_direct() {
	local sql="${1-}" max="${2:-3}" n=0 out
	[ -n "$sql" ] || return 1
	if ! [ -f "$HIVE_DB" ]; then
		queue_log error "Database not found: $HIVE_DB"
		return 1
	fi
	while :; do
		if out=$(sqlite3 -cmd ".timeout $SQLITE_TIMEOUT" "$HIVE_DB" \
		    "$sql" 2>&1 >/dev/null); then
			queue_stats_increment direct
			return 0
		fi
		case $out in
		*locked* | *busy* | *BUSY*) ;;
		*)
			queue_log error "SQL execution failed: $out"
			return 1
			;;
		esac
		n=$((n + 1))
		if [ $n -gt "$max" ]; then
			queue_log error "SQL failed after $max retries: database locked"
			return 1
		fi
		sleep "$(( (1 << (n - 1)) / 10 )).$(( (1 << (n - 1)) % 10 ))"
	done
}
queue_exec_sql() { queue_exec_sql_direct "$@"; }

# --- reading the queue ---------------------------------------------------

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

# queue_list_pending [N]: up to N (QUEUE_BATCH_SIZE) pending entries, in
# the order hqd applies them; 1 when there is no pending/.
queue_list_pending() {
	local n="${1:-$QUEUE_BATCH_SIZE}"
	[ -d "$QUEUE_PENDING_DIR" ] || return 1
	(cd "$QUEUE_PENDING_DIR" 2>/dev/null &&
	    ls -1 -- *.json *.msgpack 2>/dev/null |
	    sort -t_ -k1,1n -k2,2V | head -n "$n" |
	    sed "s|^|$QUEUE_PENDING_DIR/|")
	return 0
}

# queue_read_entry FILE: its contents; 1 when it is not a file.
queue_read_entry() {
	[ -f "${1-}" ] || return 1
	cat -- "$1" 2>/dev/null
}

# queue_stats_get: the old statistics object, cumulative across hqd's
# restarts (hqctl stats --legacy: live from hqd's counters, or from the
# stats.json hqd left when it is down).
queue_stats_get() {
	local js="" line
	# (69 when hqd is down, with the object all the same)
	js=$("$HQCTL" --root "$QUEUE_BASE_DIR" stats --legacy 2>/dev/null) ||
	    true
	if [ -z "$js" ] && [ -f "$QUEUE_STATS_FILE" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			js=$js$line
		done <"$QUEUE_STATS_FILE"
	fi
	[ -n "$js" ] ||
	    js='{"enqueued":0,"processed":0,"failed":0,"retried":0,"direct":0}'
	printf '%s\n' "$js"
}

# queue_stats_increment COUNTER [N]: "direct" is the library's (one byte
# per write in .direct, read by hqd and hqctl); hqd counts the others
# itself, so for them this does nothing. 0.
queue_stats_increment() {
	local n="${2:-1}" pad=""
	[ "${1-}" = direct ] || return 0
	[ -d "$QUEUE_BASE_DIR" ] || return 0
	case $n in
	'' | *[!0-9]*) return 0 ;;
	esac
	printf -v pad '%*s' "$n" ''
	printf '%s' "${pad// /x}" >>"$QUEUE_BASE_DIR/.direct" 2>/dev/null || true
	return 0
}

# queue_status: the old human summary.
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

# queue_wait_drain [SECONDS]: 0 once pending/ and processing/ are empty,
# 1 after SECONDS (30).
queue_wait_drain() {
	local deadline=$((EPOCHSECONDS + ${1:-30}))
	while [ "$(queue_size)" -gt 0 ] || [ "$(queue_processing_count)" -gt 0 ]
	do
		[ "$EPOCHSECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

# --- entries back to the queue ------------------------------------------

# _hq_in_hqd_hands FILE: FILE is in a processing/w<slot>/ folder of a
# running hqd: its worker holds it and only hqd may move it.
_hq_in_hqd_hands() {
	case $1 in
	*/processing/w[0-9]*/*) queue_worker_is_running ;;
	*) return 1 ;;
	esac
}

# queue_retry_entry FILE: the old worker's requeue of an entry left in
# processing/ (queue-cleanup.sh --recover calls it): its "retries" goes up
# by one; past QUEUE_MAX_RETRIES it goes to failed/ with its reason and
# this returns 1; else it goes back to pending/ under its own name (the
# name is its id in hqd's ledger: renaming it, as the old library did to
# lower its priority, could apply it twice). 0, or 1.
queue_retry_entry() {
	local file="${1-}" name body retries=0 re tmp at
	[ -f "$file" ] || return 1
	if _hq_in_hqd_hands "$file"; then
		queue_log warn "queue_retry_entry $file: hqd's worker holds" \
		    "it; hqd requeues it if that worker dies"
		return 1
	fi
	name=${file##*/}
	queue_init_dirs || return 1
	tmp=$QUEUE_TMP_DIR/.retry.$$.$name
	case $name in
	*.json)
		body=
		while IFS= read -r re || [ -n "$re" ]; do
			body=$body$re$'\n'
		done <"$file"
		re='"retries"[[:space:]]*:[[:space:]]*([0-9]+)'
		if [[ $body =~ $re ]]; then
			retries=${BASH_REMATCH[1]}
		fi
		retries=$((10#$retries + 1))
		if [ "$retries" -ge "$QUEUE_MAX_RETRIES" ]; then
			TZ=UTC0 printf -v at '%(%Y-%m-%dT%H:%M:%SZ)T' -1
			printf '{"entry":"%s","error":"max retries exceeded (queue_retry_entry)","attempts":%d,"failed_at":"%s","worker":-1}\n' \
			    "$(json_escape_string "$name")" "$retries" "$at" \
			    >"$tmp.err" && mv -f "$tmp.err" "$QUEUE_FAILED_DIR/$name.err" &&
			    mv -f "$file" "$QUEUE_FAILED_DIR/$name" || return 1
			queue_log warn "$name: max retries exceeded: in failed/"
			return 1
		fi
		if [[ $body =~ $re ]]; then
			body=${body/"${BASH_REMATCH[0]}"/\"retries\":$retries}
			printf '%s' "$body" >"$tmp" &&
			    mv -f "$tmp" "$QUEUE_PENDING_DIR/$name" &&
			    rm -f "$file" || return 1
			return 0
		fi
		;;
	esac
	mv -f "$file" "$QUEUE_PENDING_DIR/$name" || return 1
	return 0
}

# queue_recover_orphans [TIMEOUT]: entries left in processing/ longer
# than TIMEOUT (QUEUE_PROCESSING_TIMEOUT) seconds go back through
# queue_retry_entry: the old worker's flat processing/ (hqd also takes it
# over at start), and hqd's own folders when no hqd runs. 0.
queue_recover_orphans() {
	local timeout="${1:-$QUEUE_PROCESSING_TIMEOUT}" f mtime
	[ -d "$QUEUE_PROCESSING_DIR" ] || return 0
	for f in "$QUEUE_PROCESSING_DIR"/*.json "$QUEUE_PROCESSING_DIR"/*.msgpack \
	    "$QUEUE_PROCESSING_DIR"/w*/*.json "$QUEUE_PROCESSING_DIR"/w*/*.msgpack; do
		[ -f "$f" ] || continue
		_hq_in_hqd_hands "$f" && continue
		mtime=$(stat -c %Y -- "$f" 2>/dev/null) || continue
		[ $((EPOCHSECONDS - mtime)) -gt "$timeout" ] || continue
		queue_log warn "Recovering orphaned entry: ${f##*/}" \
		    "(age: $((EPOCHSECONDS - mtime))s)"
		queue_retry_entry "$f" || true
	done
	return 0
}

# queue_retry_failed [ID|--all]: dead letters back to pending/ (hq's).
queue_retry_failed() {
	"$HQCTL" --root "$QUEUE_BASE_DIR" retry "${1:---all}"
}

# --- hqd -------------------------------------------------------------------

# _hq_is_hqd PID: PID is a live hqd (not a zombie nobody reaped yet: a
# container's init may never reap the hqd a hook left behind). One read
# of /proc/PID/stat, "PID (COMM) STATE ...": no fork. queue-lib.sh's
# queue_worker_is_running has the same test inline.
_hq_is_hqd() {
	local st=""
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	case $st in
	*" (hqd"*") "[!ZX]*) return 0 ;;
	*) return 1 ;;
	esac
}

# _hq_start_hqd: hqd for this root in the background, its stderr
# appended to worker.log. Every concurrent caller may get here; hqd's
# root lock keeps one.
_hq_start_hqd() {
	queue_init_dirs || return 1
	if command -v setsid >/dev/null 2>&1; then
		setsid "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB" \
		    </dev/null >>"$QUEUE_WORKER_LOG" 2>&1 &
	else
		nohup "$HQD" --root "$QUEUE_BASE_DIR" --db "$HIVE_DB" \
		    </dev/null >>"$QUEUE_WORKER_LOG" 2>&1 &
	fi
	return 0
}

# queue_stop_worker: TERM (hqd drains), wait up to 5 s, then KILL
# (nothing is lost: hqd recovers its claims at the next start). 0.
queue_stop_worker() {
	local pid="" i=0
	queue_worker_is_running || return 0
	{ read -r pid <"$QUEUE_WORKER_PID"; } 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	while _hq_is_hqd "$pid" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if _hq_is_hqd "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	_HQ_ALIVE_AT=-1
	return 0
}

# --- queue-autostart.sh's functions ---------------------------------------

# _hq_heartbeat_age: seconds since hqd's last heartbeat (its "timestamp",
# or the old worker's bare number); 1 when there is none.
_hq_heartbeat_age() {
	local hb="" line re='"timestamp"[[:space:]]*:[[:space:]]*([0-9]+)'
	[ -f "$HEARTBEAT_FILE" ] || return 1
	{
		while IFS= read -r line || [ -n "$line" ]; do
			hb=$hb$line
		done <"$HEARTBEAT_FILE"
	} 2>/dev/null
	if [[ $hb =~ $re ]]; then
		hb=${BASH_REMATCH[1]}
	fi
	case $hb in
	'' | *[!0-9]*) hb=0 ;;
	esac
	printf '%d\n' $((EPOCHSECONDS - hb))
}

# queue_health_check_full: 0 when hqd runs and its heartbeat (if any yet)
# is fresher than HEARTBEAT_TIMEOUT. The old one also killed a worker
# whose heartbeat was stale; hq's library never kills hqd (its own
# watchdog deals with stuck workers): it says so in worker.log.
queue_health_check_full() {
	local age
	queue_worker_is_running || return 1
	age=$(_hq_heartbeat_age) || return 0
	if [ "$age" -gt "$HEARTBEAT_TIMEOUT" ]; then
		queue_log warn "hqd heartbeat stale (${age}s > ${HEARTBEAT_TIMEOUT}s)"
		return 1
	fi
	return 0
}

# queue_health_check_cached: queue_health_check_full at most once per
# HEALTH_CACHE_TTL seconds (the time of the last good check is in
# .health_cache). 0 healthy, 1 not.
queue_health_check_cached() {
	local at=""
	if [ -f "$HEALTH_CACHE_FILE" ]; then
		{ read -r at <"$HEALTH_CACHE_FILE"; } 2>/dev/null || true
		case $at in
		'' | *[!0-9]*) at=0 ;;
		esac
		[ $((EPOCHSECONDS - at)) -ge "$HEALTH_CACHE_TTL" ] || return 0
	fi
	queue_health_check_full || return 1
	printf '%s\n' "$EPOCHSECONDS" >"$HEALTH_CACHE_FILE" 2>/dev/null || true
	return 0
}

# queue_atomic_start_worker: start hqd unless one runs and wait up to
# STARTUP_WAIT_TIMEOUT seconds for it. 0 when an hqd runs (ours or
# another starter's: hqd's root lock lets one win), 1 on failure.
queue_atomic_start_worker() {
	local i=0
	if ! queue_worker_is_running; then
		_hq_start_hqd || return 1
		until queue_worker_is_running; do
			if [ $i -ge $((STARTUP_WAIT_TIMEOUT * 20)) ]; then
				queue_log error "Worker failed to start within ${STARTUP_WAIT_TIMEOUT}s"
				return 1
			fi
			sleep 0.05
			i=$((i + 1))
		done
	fi
	printf '%s\n' "$EPOCHSECONDS" >"$HEALTH_CACHE_FILE" 2>/dev/null || true
	return 0
}

# queue_ensure_worker_fast: the cached check, else a start in the
# background. Returns 0 at once.
queue_ensure_worker_fast() {
	queue_health_check_cached || queue_ensure_worker || true
	return 0
}

# queue_invalidate_health_cache: the next check is a full one.
queue_invalidate_health_cache() {
	rm -f "$HEALTH_CACHE_FILE" 2>/dev/null
	_HQ_ALIVE_AT=-1
	return 0
}

# queue_health_cache_status: not_initialized, fresh:Ns or expired:Ns.
queue_health_cache_status() {
	local at=""
	if ! [ -f "$HEALTH_CACHE_FILE" ]; then
		echo not_initialized
		return 0
	fi
	{ read -r at <"$HEALTH_CACHE_FILE"; } 2>/dev/null || true
	case $at in
	'' | *[!0-9]*) at=0 ;;
	esac
	if [ $((EPOCHSECONDS - at)) -lt "$HEALTH_CACHE_TTL" ]; then
		echo "fresh:$((EPOCHSECONDS - at))s"
	else
		echo "expired:$((EPOCHSECONDS - at))s"
	fi
}

# queue_heartbeat_status: not_initialized, healthy:Ns or stale:Ns.
queue_heartbeat_status() {
	local age
	if ! age=$(_hq_heartbeat_age); then
		echo not_initialized
		return 0
	fi
	if [ "$age" -lt "$HEARTBEAT_TIMEOUT" ]; then
		echo "healthy:${age}s"
	else
		echo "stale:${age}s"
	fi
}

# --- maintenance -----------------------------------------------------------

# queue_cleanup_old [HOURS]: remove completed/ and failed/ files (notes
# too) older than HOURS (24), temp files older than an hour, and keep
# worker.log under 1 MiB (copied to worker.log.old, then truncated: hqd
# keeps appending to the same file). 0.
queue_cleanup_old() {
	local mins=$(( ${1:-24} * 60 )) size
	find "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" -type f \
	    -mmin +"$mins" -delete 2>/dev/null || true
	find "$QUEUE_TMP_DIR" -type f -mmin +60 -delete 2>/dev/null || true
	size=$(stat -c %s -- "$QUEUE_WORKER_LOG" 2>/dev/null) || size=0
	if [ "$size" -gt 1048576 ]; then
		cp -f -- "$QUEUE_WORKER_LOG" "$QUEUE_WORKER_LOG.old" 2>/dev/null &&
		    : >"$QUEUE_WORKER_LOG"
	fi
	return 0
}
queue_cleanup() { queue_cleanup_old "$@"; }

# queue_reset: stop hqd, empty the queue, the sequence and the counters
# (destructive, for tests). 0.
queue_reset() {
	queue_stop_worker
	rm -rf "$QUEUE_PENDING_DIR" "$QUEUE_PROCESSING_DIR" \
	    "$QUEUE_COMPLETED_DIR" "$QUEUE_FAILED_DIR" "$QUEUE_TMP_DIR" \
	    2>/dev/null || true
	rm -f "$QUEUE_BASE_DIR/.direct" "$QUEUE_STATS_FILE" "$QUEUE_SEQ_FILE" \
	    "$HEALTH_CACHE_FILE" 2>/dev/null || true
	queue_init_dirs
}

# The functions that replace stubs keep the stubs' export; the helpers
# only this file calls are exported here, as before.
case ${HQ_QUEUE_LIB_EXPORT:-true} in
false | 0 | no | off) ;;
*)
	export -f _hq_json_value _hq_dead_letter _hq_count _hq_in_hqd_hands \
	    _hq_heartbeat_age _hq_is_hqd
	;;
esac
_HQ_MORE_LOADED=1
