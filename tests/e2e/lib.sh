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

hq_cleanup() {
	local rc=$?
	if [ -n "$HQ_PID" ] && kill -0 "$HQ_PID" 2>/dev/null; then
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
	"$HQD" --root "$ROOT" --db "$DB" "$@" >>"$LOG" 2>&1 &
	HQ_PID=$!
	hq_wait 10 "hqd start" hq__started "$before"
}

hq__started() {
	kill -0 "$HQ_PID" 2>/dev/null || fail "hqd exited during start"
	[ "$(grep -c ': started: ' "$LOG" || true)" -gt "$1" ]
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
