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
# Deadlines for hqd's own answers are multiplied by this: under valgrind
# (tests/valgrind/run.sh sets VG_LOGDIR) hqd runs tens of times slower.
HQ_TMUL=1
[ -z "${VG_LOGDIR:-}" ] || HQ_TMUL=5

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

# hq_wait SECONDS WHAT CMD [ARGS...]: poll CMD until it succeeds (for
# SECONDS x HQ_TMUL: a wait for something to happen only gets slower to
# fail when longer).
hq_wait() {
	local secs=$(($1 * HQ_TMUL)) what=$2 deadline
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
	# Twice round: an entry a dying worker held goes back from
	# processing/ to pending/ and may slip between two single looks.
	[ "$(hq_count_entries pending)" -eq 0 ] &&
	    [ "$(hq_count_entries processing)" -eq 0 ] &&
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

# hq_gen N TABLE [PRIORITY] [FIRST] [DIR]: write N JSON entries into DIR
# (default .tmp/), the i-th (FIRST, default 1, upward) named
# PRIORITY_i.json and inserting i into TABLE(v). One perl process:
# thousands per second.
hq_gen() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending" "${5:-$ROOT/.tmp}"
	perl -e 'my ($dir, $n, $table, $prio, $first) = @ARGV;
		for my $i ($first .. $first + $n - 1) {
			open(my $f, ">", "$dir/${prio}_$i.json") or die "$!";
			print $f "{\"sql\":\"INSERT INTO $table(v) VALUES (?)\",",
			    "\"params\":[$i]}";
			close($f) or die "$!";
		}' "${5:-$ROOT/.tmp}" "$1" "$2" "${3:-5}" "${4:-1}"
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

# hq_freeze / hq_thaw: SIGSTOP / SIGCONT hqd and every worker, so that a
# test can look at a backlog in flight and act (kill a worker) before it
# moves on. The workers first (caught inside their batches), then hqd
# (frozen, it can neither respawn nor dispatch), then any worker it
# spawned in between. The workers the last freeze saw are stopped before
# anything forks (pgrep): on a loaded machine that fork can take long
# enough for the workers to drain the backlog the test wanted to catch.
HQ_FROZEN=()
hq__child_of_hqd() {
	local st
	read -r st <"/proc/$1/stat" 2>/dev/null || return 1
	st=${st##*) }
	set -- $st
	[ "${2:-}" = "$HQ_PID" ]
}

hq_freeze() {
	local p
	for p in "${HQ_FROZEN[@]}"; do
		# Still hqd's child (a builtin read, no fork): a pid reused by
		# someone else's process is never stopped.
		hq__child_of_hqd "$p" && kill -STOP "$p" 2>/dev/null || true
	done
	for p in $(hq_live_workers); do
		kill -STOP "$p" 2>/dev/null || true
	done
	kill -STOP "$HQ_PID" 2>/dev/null || true
	HQ_FROZEN=()
	for p in $(hq_live_workers); do
		kill -STOP "$p" 2>/dev/null || true
		HQ_FROZEN+=("$p")
	done
}

hq_thaw() {
	local p
	for p in $(hq_workers); do
		kill -CONT "$p" 2>/dev/null || true
	done
	kill -CONT "$HQ_PID" 2>/dev/null || true
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

# hq_advance TAKEN TOTAL: let a backlog of TOTAL entries run in short steps
# (the workers frozen in between) until TAKEN of them have left pending/;
# returns with the workers frozen (hq_thaw them). However slow this shell
# is next to hqd on a busy machine, the backlog cannot run away between
# two looks.
hq_advance() {
	local deadline=$(($(date +%s) + 60))
	while :; do
		hq_freeze
		[ $(($2 - $(hq_npending))) -lt "$1" ] || return 0
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "timed out waiting for $1 of $2 entries taken"
		hq_thaw
		sleep 0.05
	done
}

# --- 420-469: faults from outside (issue 4) ----------------------------------
# Helpers of the tests 420-469 only. A test that calls hq4_trap gets
# hq4_cleanup as its EXIT trap: it stops the background producer and hqd,
# unmounts what hq4_mount mounted (a failed test keeps a copy of it in
# DIR.kept, fillers left out) and then runs lib.sh's hq_cleanup.
HQ4_MOUNTS=()
HQ4_PRODUCER=

hq4_cleanup() {
	local rc=$? m i
	set +e
	[ -d "$T" ] && : >"$T/producer.stop"
	if [ ${#HQ_BG[@]} -gt 0 ]; then
		kill "${HQ_BG[@]}" 2>/dev/null
		wait "${HQ_BG[@]}" 2>/dev/null
		HQ_BG=()
	fi
	if [ -n "$HQ_PID" ] && ! hq_gone "$HQ_PID"; then
		hq_thaw
		kill -TERM "$HQ_PID" 2>/dev/null
		for i in $(seq 1 100); do
			hq_gone "$HQ_PID" && break
			sleep 0.1
		done
		kill -KILL "$HQ_PID" 2>/dev/null
		wait "$HQ_PID" 2>/dev/null
		HQ_PID=
	fi
	for m in "${HQ4_MOUNTS[@]}"; do
		if [ "$rc" -ne 0 ]; then
			mkdir -p "$m.kept"
			(cd "$m" && tar -cf - --exclude='./filler*' .) 2>/dev/null |
			    (cd "$m.kept" && tar -xf -) 2>/dev/null
		fi
		umount "$m" 2>/dev/null || umount -l "$m"
	done
	# A skip (77) is no failure: nothing to keep. The script's exit
	# status stays what it was.
	[ "$rc" -ne 77 ] || rc=0
	(exit "$rc")
	hq_cleanup
}

hq4_trap() {
	trap hq4_cleanup EXIT
}

# hq4_mount DIR SIZE: a tmpfs of SIZE (as mount's size=) on DIR, unmounted
# at exit. Returns 1 when mounting is not permitted here.
hq4_mount() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>"$T/mount.err" ||
	    return 1
	HQ4_MOUNTS+=("$1")
}

# hq4_fill DIR: fill the file system of DIR up (DIR/filler, appended to
# until ENOSPC, so that a second call takes what was freed meanwhile), and
# check that not a byte is left.
hq4_fill() {
	local err
	err=$(dd if=/dev/zero of="$1/filler" bs=4096 oflag=append \
	    conv=notrunc 2>&1) && fail "dd filled $1 without running out of space"
	grep -q 'No space left on device' <<<"$err" ||
	    fail "dd on $1: $err"
	assert_eq "$(df --output=avail -B1 "$1" | tail -n 1 | tr -d ' ')" 0 \
	    "free bytes on $1 after filling it"
}

# hq4_as_nobody: from now on hqd (hq_start) and hq_sql run as nobody, as in
# 090: as root, mode bits stop nobody. Returns 1 when that cannot be done
# here (not root, no setpriv, nobody cannot run the binaries).
hq4_as_nobody() {
	[ "$(id -u)" -eq 0 ] || return 1
	command -v setpriv >/dev/null || return 1
	HQ4_USER=nobody
	HQ4_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
	HQ_PREFIX=(setpriv --reuid="$HQ4_USER" --regid="$HQ4_GROUP" \
	    --clear-groups)
	chmod 755 "$T"
	"${HQ_PREFIX[@]}" test -x "$HQD" || return 1
	"${HQ_PREFIX[@]}" test -x "$DBQ" || return 1
	# The database's -wal and -shm must be nobody's too: a root dbq
	# creating them would lock hqd out.
	hq_sql() {
		"${HQ_PREFIX[@]}" "$DBQ" "$DB" "$1"
	}
}

# hq4_json FILE EXPR: decode FILE (one JSON document) and print the perl
# expression EXPR over it ($j; booleans as 1/0). Fails when not JSON.
hq4_json() {
	perl -MJSON::PP -e '
		my ($file, $expr) = @ARGV;
		open(my $f, "<", $file) or die "hq4_json: $file: $!\n";
		my $text = do { local $/; <$f> };
		my $j = eval { JSON::PP->new->utf8->decode($text) };
		die "hq4_json: $file is not JSON: $@" unless ref $j;
		my $v = eval $expr;
		die "hq4_json: $expr: $@" if $@;
		print defined $v ? "$v\n" : "undef\n";' "$1" "$2"
}

# hq4_stats EXPR: `hqctl stats --json` of $ROOT, EXPR over it (hq4_json).
hq4_stats() {
	local rc=0
	"$HQCTL" --root "$ROOT" stats --json >"$T/stats.out" 2>"$T/stats.err" ||
	    rc=$?
	[ "$rc" -eq 0 ] || fail "hqctl stats --json: exit $rc: $(cat "$T/stats.err")"
	hq4_json "$T/stats.out" "$1"
}

# hq4_heartbeat EXPR: EXPR over $ROOT/.heartbeat, "none" while it is
# missing (it is replaced by rename: never half written).
hq4_heartbeat() {
	cp "$ROOT/.heartbeat" "$T/hb.copy" 2>/dev/null || { echo none; return; }
	hq4_json "$T/hb.copy" "$1"
}

# hq4_producer_start TABLE FIRST: a background producer publishes the
# entries FIRST, FIRST+1... ("5_<i>.json", inserting i into TABLE(v)) into
# $ROOT the way producers must: mkdir -p .tmp/ and pending/, write into
# .tmp/, rename into pending/. An attempt that fails (a folder removed
# under it) is made again. It logs to $T/events, one line per write
# (O_APPEND, so lines of the test's markers interleave in true order):
# "S i" before each attempt, "P i" once i is published, "R i why" for a
# failed attempt, "paused"/"resumed" around a pause (hq4_producer_pause).
# It stops after the entry in hand once $T/producer.stop exists.
hq4_producer_start() {
	rm -f "$T/producer.stop" "$T/producer.pause"
	: >>"$T/events"
	perl -e '
		use strict; use warnings; use Time::HiRes qw(sleep);
		my ($root, $table, $i, $t) = @ARGV;
		open(my $ev, ">>", "$t/events") or die "events: $!";
		$ev->autoflush(1);
		my $mk = sub { mkdir $_[0]; };
		for (;; $i++) {
			last if -e "$t/producer.stop";
			if (-e "$t/producer.pause") {
				print $ev "paused\n";
				sleep 0.01 while -e "$t/producer.pause" &&
				    !-e "$t/producer.stop";
				print $ev "resumed\n";
			}
			my $name = "5_$i.json";
			for (my $try = 0;; $try++) {
				die "entry $i: too many attempts" if $try > 10000;
				print $ev "S $i\n";
				$mk->("$root/.tmp"); $mk->("$root/pending");
				my $f;
				if (!open($f, ">", "$root/.tmp/$name")) {
					print $ev "R $i open: $!\n"; sleep 0.002; next;
				}
				print $f "{\"sql\":\"INSERT INTO $table(v) VALUES (?)\",\"params\":[$i]}";
				if (!close($f)) {
					print $ev "R $i close: $!\n"; sleep 0.002; next;
				}
				if (!rename("$root/.tmp/$name", "$root/pending/$name")) {
					print $ev "R $i rename: $!\n";
					unlink "$root/.tmp/$name";
					sleep 0.002; next;
				}
				print $ev "P $i\n";
				last;
			}
			sleep 0.005;
		}
		print $ev "stopped\n";' "$ROOT" "$1" "$2" "$T" &
	HQ4_PRODUCER=$!
	HQ_BG+=("$HQ4_PRODUCER")
}

hq4__events_have() {
	[ "$(grep -c -x -- "$1" "$T/events" || true)" -ge "$2" ]
}

# hq4_producer_pause: the producer stops between two entries (returns once
# it has); hq4_producer_resume lets it go on.
hq4_producer_pause() {
	local n
	n=$(grep -c -x paused "$T/events" || true)
	: >"$T/producer.pause"
	hq_wait 30 "the producer to pause" hq4__events_have paused $((n + 1))
}

hq4_producer_resume() {
	rm -f "$T/producer.pause"
}

# hq4_producer_stop: the producer publishes the entry in hand and exits.
hq4_producer_stop() {
	: >"$T/producer.stop"
	wait "$HQ4_PRODUCER" || fail "the producer failed"
	HQ4_PRODUCER=
}

# hq4_mark WHAT: a marker line in $T/events, between the producer's lines.
hq4_mark() {
	echo "$1" >>"$T/events"
}

# hq4_check_events TABLE: compare what the producer published ($T/events)
# with TABLE(v). An entry is "exposed" when the attempt that published it
# started between a "resumed" (or "F... start") marker and the end of the
# fault that followed ("F... end"): the fault (rm -rf) may have deleted it
# before hqd saw it. Every entry is applied at most once; every entry that
# was not exposed exactly once. Prints a one-line summary.
hq4_check_events() {
	hq_sql "SELECT v, count(*) FROM $1 GROUP BY v" >"$T/applied.out"
	perl -e '
		use strict; use warnings;
		my ($events, $applied) = @ARGV;
		my (%applied, %pub, %exposed, $state, %laststate);
		open(my $af, "<", $applied) or die "$applied: $!";
		while (<$af>) { chomp; my ($v, $n) = split /\|/; $applied{$v} = $n; }
		open(my $e, "<", $events) or die "$events: $!";
		$state = "safe";
		while (<$e>) {
			chomp;
			if (/^S (\d+)$/) { $laststate{$1} = $state; }
			elsif (/^P (\d+)$/) { $pub{$1} = 1; $exposed{$1} = 1 if $laststate{$1} eq "exposed"; }
			elsif (/^resumed$/ || /^F\S* start$/) { $state = "exposed"; }
			elsif (/^F\S* end$/) { $state = "safe"; }
		}
		my (@twice, @missing, @unknown, $lost);
		$lost = 0;
		for my $v (sort { $a <=> $b } keys %applied) {
			push @twice, "$v x$applied{$v}" if $applied{$v} > 1;
			push @unknown, $v unless $pub{$v};
		}
		for my $v (sort { $a <=> $b } keys %pub) {
			next if $applied{$v};
			if ($exposed{$v}) { $lost++; } else { push @missing, $v; }
		}
		my $n = keys %pub; my $x = keys %exposed;
		print "published $n, exposed to a removal $x, of which deleted before hqd saw them $lost\n";
		my $bad = 0;
		if (@twice) { print "applied more than once: @twice[0..($#twice < 9 ? $#twice : 9)]\n"; $bad = 1; }
		if (@missing) { print scalar(@missing), " published after a removal and never applied: @missing[0..($#missing < 19 ? $#missing : 19)]\n"; $bad = 1; }
		if (@unknown) { print "applied but never published: @unknown\n"; $bad = 1; }
		exit $bad;' "$T/events" "$T/applied.out"
}

hq__log_since_has() {
	[ "$(hq_log_count_since "$1")" -ge "${2:-1}" ]
}

# --- 600-699: isolation of entries (issue 11) --------------------------------
# hq_sub CMD [ARGS...]: CMD (a check that fails the test, e.g. assert_failed)
# in a subshell, its failure a status: for lib_3xx.sh's soft t3_check. (A
# subshell does not run the EXIT trap.)
hq_sub() {
	("$@")
}

# hq_put NAME SQL [ID]: a JSON entry {"id":ID,"sql":SQL} (no "id" when ID
# is empty or missing) written into .tmp/
# (hq_publish or hq_put_publish makes it pending). SQL is escaped for JSON
# (backslash, double quote, newline, tab).
hq_put() {
	local s=${2//\\/\\\\} id=
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	[ -z "${3:-}" ] || id="\"id\":\"$3\","
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	printf '{%s"sql":"%s"}' "$id" "$s" >"$ROOT/.tmp/$1"
}

# hq_put_publish NAME SQL [ID]: hq_put, then its rename into pending/.
hq_put_publish() {
	hq_put "$@"
	mv "$ROOT/.tmp/$1" "$ROOT/pending/$1"
}

# hq_reason NAME: the "error" of failed/NAME.err.
hq_reason() {
	hq4_json "$ROOT/failed/$1.err" '$j->{error}'
}

# hq_failed_why NAME ERE: NAME is a dead letter with its note (assert_failed)
# and its reason matches ERE case-insensitively (reasons are matched on
# keywords, never on whole sentences).
hq_failed_why() {
	local why
	assert_failed "$1" '.'
	why=$(hq_reason "$1")
	grep -q -i -E -- "$2" <<<"$why" ||
	    fail "$1: reason '$why' does not match /$2/i"
}

# hq_failed_only NAME...: failed/ holds these entries (each with its note)
# and nothing else.
hq_failed_only() {
	local n want got
	for n in "$@"; do
		assert_failed "$n" '.'
	done
	want=$(printf '%s\n' "$@" | sort)
	got=$(find "$ROOT/failed" -mindepth 1 -maxdepth 1 ! -name '*.err' \
	    ! -name '.*' -printf '%f\n' 2>/dev/null | sort)
	[ "$got" = "$want" ] ||
	    fail "failed/ holds [$(echo $got)], want [$(echo $want)]"
}

# hq_lock_holder: the pid holding the database's write lock (the WAL write
# lock: a POSIX write lock on byte 120 of DB-shm, as /proc/locks shows it),
# or nothing.
hq_lock_holder() {
	local ino
	ino=$(stat -c %i "$DB-shm" 2>/dev/null) || return 0
	awk -v ino="$ino" '$2 == "POSIX" && $4 == "WRITE" && $7 == 120 &&
	    $6 ~ (":" ino "$") { print $5; exit }' /proc/locks
}

# hq_no_worker_death: no worker died or was killed: no such log line, and
# `hqctl stats --json` counts no death and one spawn per worker slot.
hq_no_worker_death() {
	local n
	n=$(hq_log_count 'killed by signal|exited with status|no progress|workers died')
	[ "$n" -eq 0 ] || fail "worker deaths in the log: $(grep -E \
	    'killed by signal|exited with status|no progress|workers died' "$LOG" | head -n 3)"
	assert_eq "$(hq4_stats '$j->{supervisor}{deaths}')" 0 "supervisor.deaths"
	assert_eq "$(hq4_stats '$j->{supervisor}{spawns}')" \
	    "$(hq4_stats 'scalar @{$j->{workers}}')" "supervisor.spawns (one per slot)"
}

# hq_trickle TABLE FIRST N SECS: publish N entries (named PRIORITY 5 and
# their value, inserting FIRST.. into TABLE(v)) evenly over SECS seconds,
# each written into .tmp/ and renamed into pending/. Returns when the last
# one is published (run it with & to go on meanwhile).
hq_trickle() {
	mkdir -p "$ROOT/.tmp" "$ROOT/pending"
	perl -e '
		use Time::HiRes qw(time sleep);
		my ($root, $table, $first, $n, $secs) = @ARGV;
		my $t0 = time;
		for my $k (1 .. $n) {
			my $i = $first + $k - 1;
			open(my $h, ">", "$root/.tmp/5_$i.json") or die "$i: $!";
			print $h "{\"sql\":\"INSERT INTO $table(v) VALUES (?)\",",
			    "\"params\":[$i]}";
			close($h) or die "$i: $!";
			rename("$root/.tmp/5_$i.json", "$root/pending/5_$i.json") or
			    die "$i: $!";
			my $ahead = $t0 + $secs * $k / $n - time;
			sleep($ahead) if $ahead > 0;
		}' "$ROOT" "$1" "$2" "$3" "$4"
}

# hq_warm TABLE N [FIRST]: N entries inserting FIRST (1) upward into
# TABLE(v), published at once (with whatever else .tmp/ holds); returns once
# they are applied and the queue is drained.
hq_warm() {
	local before
	before=$(hq_sql "SELECT count(*) FROM $1")
	hq_gen "$2" "$1" 5 "${3:-1}"
	hq_publish
	hq_wait_sql 60 "SELECT count(*) FROM $1" $((before + $2))
	hq_wait_drained 30
}

# hq4_tmpfs_or_skip SIZE: from now on the queue root and the database live
# on a tmpfs of SIZE mounted on MNT=$T/fs (hq4_mount: call hq4_trap first);
# exits 77 saying why when it cannot be mounted here (not root...).
hq4_tmpfs_or_skip() {
	local why
	MNT=$T/fs
	if [ "$(id -u)" -ne 0 ] || ! hq4_mount "$MNT" "$1"; then
		why=$(cat "$T/mount.err" 2>/dev/null || true)
		echo "cannot mount a tmpfs here (${why:-not root}): skipped"
		exit 77
	fi
	ROOT=$MNT/queue
	DB=$MNT/hive.db
}

# hq4_second LOG ARGS...: start another hqd with ARGS, logging to LOG, and
# return once it has exited or started: HQ4_SECOND is its pid,
# HQ4_SECOND_STARTED 1 when it runs (the caller stops it), 0 when it
# exited. Either way `wait "$HQ4_SECOND"` then gives its status.
hq4_second() {
	local log=$1
	shift
	"$HQD" "$@" >"$log" 2>&1 &
	HQ4_SECOND=$!
	HQ_BG+=("$HQ4_SECOND")
	hq_wait 20 "the second hqd to exit or start" hq4__second_done "$log"
	HQ4_SECOND_STARTED=0
	hq_gone "$HQ4_SECOND" || HQ4_SECOND_STARTED=1
}

hq4__second_done() {
	hq_gone "$HQ4_SECOND" || grep -q ': started: ' "$1"
}
