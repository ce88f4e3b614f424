# SPDX-License-Identifier: MIT
# lib.sh: helpers for the end-to-end tests. Each test is a bash script that
# sources this file, drives the real hqd on a temporary root and database,
# and observes only files, the database (through dbq) and hqctl.
# ctest passes HQD, DBQ (and HQCTL) as absolute paths.

set -euo pipefail

: "${HQD:?HQD must point at the hqd binary}"
: "${DBQ:?DBQ must point at the dbq helper}"

T=$(mktemp -d "${TMPDIR:-/tmp}/hq-e2e.XXXXXX")
ROOT=$T/queue
DB=$T/hive.db
LOG=$T/hqd.log
HQ_PID=
HQ_SEQ=0
# Words put before "$HQD" by hq_start, e.g. (setpriv --reuid=nobody ...).
HQ_PREFIX=()
# Background helpers (lock holders...) a test started: killed at the end.
HQ_BG=()

hq_cleanup() {
	local rc=$?
	if [ ${#HQ_BG[@]} -gt 0 ]; then
		kill "${HQ_BG[@]}" 2>/dev/null || true
	fi
	if [ -n "$HQ_PID" ] && kill -0 "$HQ_PID" 2>/dev/null; then
		# TERM first: a clean exit unlinks the stats segment.
		kill -TERM "$HQ_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$HQ_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$HQ_PID" 2>/dev/null || true
		wait "$HQ_PID" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ]; then
		echo "--- test failed (rc $rc); hqd log:" >&2
		tail -n 60 "$LOG" >&2 2>/dev/null || true
		echo "--- kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap hq_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "# $*"
}

# hq_sql SQL: run SQL on the test database, print rows.
hq_sql() {
	"$DBQ" "$DB" "$1"
}

# hq_start [hqd args...]: start hqd in the background on $ROOT/$DB and
# wait until it has started (lock taken, watcher armed, workers spawned).
hq_start() {
	: >>"$LOG"
	local before
	before=$(grep -c ': started: ' "$LOG" || true)
	"${HQ_PREFIX[@]}" "$HQD" --root "$ROOT" --db "$DB" "$@" >>"$LOG" 2>&1 &
	HQ_PID=$!
	hq_wait 10 "hqd start" hq__started "$before"
}

hq__started() {
	# The log first: a short-lived hqd (idle exit) may be gone already.
	[ "$(grep -c ': started: ' "$LOG" || true)" -gt "$1" ] && return 0
	kill -0 "$HQ_PID" 2>/dev/null || fail "hqd exited during start"
	return 1
}

# hq_stop [SIGNAL]: signal hqd (TERM by default) and wait for it; its exit
# status lands in HQ_RC. (Not in a subshell: only this shell can wait.)
hq_stop() {
	local sig=${1:-TERM}
	HQ_RC=0
	kill -"$sig" "$HQ_PID"
	wait "$HQ_PID" || HQ_RC=$?
	HQ_PID=
}

# hq_wait SECONDS WHAT CMD [ARGS...]: poll CMD until it succeeds.
hq_wait() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s%N) + secs * 1000000000))
	until "$@"; do
		if [ "$(date +%s%N)" -gt "$deadline" ]; then
			fail "timed out after ${secs}s waiting for $what"
		fi
		sleep 0.02
	done
}

# hq_drop NAME BODY: write an entry the way producers must (temp file,
# then rename into pending/).
hq_drop() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	printf '%s' "$2" >"$ROOT/.tmp/$1"
	mv "$ROOT/.tmp/$1" "$ROOT/pending/$1"
}

# hq_publish: rename every file of $ROOT/.tmp into pending/, in name order,
# in one process (perl-base is essential on Debian): a burst of commits.
hq_publish() {
	perl -e 'chdir $ARGV[0] or die "$!";
		opendir(my $d, ".") or die "$!";
		for my $f (sort grep { !/^\./ } readdir $d) {
			rename($f, "../pending/$f") or die "rename $f: $!";
		}' "$ROOT/.tmp"
}

# hq_name [PRIORITY]: a fresh entry name in enqueue order.
hq_name() {
	HQ_SEQ=$((HQ_SEQ + 1))
	printf '%s_%s_%s.json' "${1:-5}" "$(date +%s%N)" "$HQ_SEQ"
}

# hq_count DIR: regular files (entries and notes) in $ROOT/DIR.
hq_count() {
	find "$ROOT/$1" -mindepth 1 -maxdepth 2 ! -type d ! -name '.*' \
	    2>/dev/null | wc -l
}

# hq_count_entries DIR: files in DIR that are not reason notes.
hq_count_entries() {
	find "$ROOT/$1" -mindepth 1 -maxdepth 2 ! -type d ! -name '.*' \
	    ! -name '*.err' 2>/dev/null | wc -l
}

hq__queue_empty() {
	[ "$(hq_count_entries pending)" -eq 0 ] &&
	    [ "$(hq_count_entries processing)" -eq 0 ]
}

# hq_wait_drained [SECONDS]: pending/ and processing/ both empty.
hq_wait_drained() {
	hq_wait "${1:-30}" "the queue to drain" hq__queue_empty
}

hq__sql_is() {
	[ "$(hq_sql "$1")" = "$2" ]
}

# hq_wait_sql SECONDS SQL EXPECTED
hq_wait_sql() {
	hq_wait "$1" "'$2' to give '$3'" hq__sql_is "$2" "$3"
}

# assert_eq GOT WANT WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# hq_workers: pids of hqd's workers, one per line.
hq_workers() {
	pgrep -P "$HQ_PID" || true
}

# --- helpers for the scenario tests (020 upward) ---------------------------
# Where hq_log_mark put the mark: hq_log_count_since counts after it.
HQ_LOG_MARK=0

# hq_gone PID: the process no longer runs (gone, or a zombie nobody reaped:
# kill -0 succeeds on zombies, and the container's init may not reap).
hq_gone() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	st=${st%% *}
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

hq__all_gone() {
	local p
	for p in "$@"; do
		hq_gone "$p" || return 1
	done
}

# hq_stop_within SECONDS [SIGNAL]: signal hqd (TERM by default), fail if it
# has not exited within SECONDS; HQ_RC gets its status and HQ_STOP_MS the
# time from the signal to its exit, in milliseconds.
hq_stop_within() {
	local secs=$1 sig=${2:-TERM} t0
	t0=$(date +%s%N)
	kill -"$sig" "$HQ_PID"
	hq_wait "$secs" "hqd to exit after SIG$sig" hq_gone "$HQ_PID"
	HQ_STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	HQ_RC=0
	wait "$HQ_PID" || HQ_RC=$?
	HQ_PID=
}

# hq_wait_exit SECONDS: hqd exits on its own; HQ_RC gets its status.
hq_wait_exit() {
	hq_wait "$1" "hqd to exit" hq_gone "$HQ_PID"
	HQ_RC=0
	wait "$HQ_PID" || HQ_RC=$?
	HQ_PID=
}

# hq_crash: SIGKILL hqd (the supervisor only) and reap it.
hq_crash() {
	kill -KILL "$HQ_PID"
	wait "$HQ_PID" 2>/dev/null || true
	HQ_PID=
}

# hq_run [hqd args...]: run hqd in the foreground (10 s at most); stdout
# lands in $T/run.out, stderr in $T/run.err, the status in HQ_RC.
hq_run() {
	HQ_RC=0
	timeout 10 "$HQD" "$@" >"$T/run.out" 2>"$T/run.err" || HQ_RC=$?
}

# hq_log_count ERE: lines of $LOG matching.
hq_log_count() {
	grep -c -E -- "$1" "$LOG" 2>/dev/null || true
}

# hq_log_mark: remember the end of $LOG; hq_log_count_since counts after it.
hq_log_mark() {
	: >>"$LOG"
	HQ_LOG_MARK=$(wc -l <"$LOG")
}

hq_log_count_since() {
	tail -n +"$((HQ_LOG_MARK + 1))" "$LOG" | grep -c -E -- "$1" || true
}

hq__log_has() {
	[ "$(hq_log_count "$1")" -ge "${2:-1}" ]
}

# hq_wait_log SECONDS ERE [COUNT]: wait for COUNT (1) lines matching.
hq_wait_log() {
	hq_wait "$1" "log line /$2/ x${3:-1}" hq__log_has "$2" "${3:-1}"
}

# hq_gen N TABLE [PRIORITY] [FIRST]: write N JSON entries into .tmp/, the
# i-th (FIRST, default 1, upward) named PRIORITY_i.json and inserting i
# into TABLE(v). One perl process: thousands per second.
hq_gen() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	perl -e 'my ($dir, $n, $table, $prio, $first) = @ARGV;
		for my $i ($first .. $first + $n - 1) {
			open(my $f, ">", "$dir/${prio}_$i.json") or die "$!";
			print $f "{\"sql\":\"INSERT INTO $table(v) VALUES (?)\",",
			    "\"params\":[$i]}";
			close($f) or die "$!";
		}' "$ROOT/.tmp" "$1" "$2" "${3:-5}" "${4:-1}"
}

# hq_assert_once TABLE N: TABLE(v) holds exactly the values 1..N, once each
# (no unique key on v, so a double application would show).
hq_assert_once() {
	assert_eq "$(hq_sql "SELECT count(*) FROM $1")" "$2" "rows in $1"
	assert_eq "$(hq_sql "SELECT count(DISTINCT v) FROM $1")" "$2" \
	    "distinct values in $1"
	assert_eq "$(hq_sql "SELECT min(v), max(v) FROM $1")" "1|$2" \
	    "min|max of $1"
}

# assert_match STRING ERE WHAT
assert_match() {
	# A here-string, not a pipe: grep -q exiting early must not make the
	# writer die of SIGPIPE under pipefail.
	grep -q -E -- "$2" <<<"$1" ||
	    fail "$3: '$1' does not match /$2/"
}

# assert_failed NAME ERE: NAME sits in failed/ with a one-line JSON note
# NAME.err whose "error" matches ERE, and nowhere else in the tree.
assert_failed() {
	local name=$1 re=$2 note
	[ -e "$ROOT/failed/$name" ] || [ -L "$ROOT/failed/$name" ] ||
	    fail "$name: not in failed/"
	[ -f "$ROOT/failed/$name.err" ] || fail "$name: no failed/$name.err"
	note=$(cat "$ROOT/failed/$name.err")
	assert_eq "$(wc -l <"$ROOT/failed/$name.err")" 1 "$name.err lines"
	assert_match "$note" '^\{"entry":"[^"]*","error":"([^"\\]|\\.)+","attempts":[0-9]+,"failed_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[^"]*","worker":[0-9]+\}$' \
	    "$name.err shape"
	assert_match "$note" "\"entry\":\"$name\"" "$name.err entry"
	assert_match "$note" "\"error\":\"([^\"\\\\]|\\\\.)*($re)" "$name.err error"
	if [ -e "$ROOT/pending/$name" ] || [ -L "$ROOT/pending/$name" ] ||
	    [ -n "$(find "$ROOT/processing" -name "$name" 2>/dev/null)" ]; then
		fail "$name: in failed/ and still in pending/ or processing/"
	fi
}

# hq_live_workers: hq_workers without the zombies not reaped yet.
hq_live_workers() {
	local p
	for p in $(hq_workers); do
		hq_gone "$p" || echo "$p"
	done
}

# hq_freeze / hq_thaw: SIGSTOP / SIGCONT every worker, so that a test can
# look at a backlog in flight and act (kill one) before it moves on.
hq_freeze() {
	local p
	for p in $(hq_live_workers); do
		kill -STOP "$p" 2>/dev/null || true
	done
}

hq_thaw() {
	local p
	for p in $(hq_workers); do
		kill -CONT "$p" 2>/dev/null || true
	done
}

# hq_npending: names in pending/ (dot files aside), without a fork: cheap
# enough to poll a backlog in flight on a busy machine.
hq_npending() {
	local f
	f=("$ROOT"/pending/*)
	[ -e "${f[0]}" ] || [ -L "${f[0]}" ] || f=()
	echo "${#f[@]}"
}

hq__npending_le() {
	[ "$(hq_npending)" -le "$1" ]
}

# hq_hold [SECONDS]: another process (dbq --hold) takes the database's
# write lock and keeps it SECONDS (60) or until hq_release; returns once
# the lock is held. Its pid is in HQ_HOLDER.
hq_hold() {
	# Emptied here, not by the child: a previous "locked" must not count.
	: >"$T/hold.out"
	"$DBQ" --hold "${1:-60}" "$DB" >>"$T/hold.out" &
	HQ_HOLDER=$!
	HQ_BG+=("$HQ_HOLDER")
	hq_wait 20 "the database lock held" grep -q locked "$T/hold.out"
}

# hq_release: end the hq_hold process (the kernel drops its locks).
hq_release() {
	kill "$HQ_HOLDER" 2>/dev/null || true
	wait "$HQ_HOLDER" 2>/dev/null || true
}

# --- helpers for the 4xx reliability tests ----------------------------------
# hq__no_proc_with_env STRING: no hqd or worker process has STRING in its
# environment (workers inherit hqd's: a test marks its daemon this way).
hq__no_proc_with_env() {
	local pid
	for pid in $(pgrep -x 'hqd|hqd-worker' || true); do
		if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
		    grep -qxF -- "$1"; then
			return 1
		fi
	done
	return 0
}
