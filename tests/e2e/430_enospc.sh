#!/usr/bin/env bash
# A full disk under a running hqd. The queue root and the database share a
# small tmpfs, which a filler file fills up while entries keep arriving:
#  - a bad entry (SQL error) fails, but its failed/ note cannot be written:
#    it goes back to pending/, never vanishes, never lands without reason;
#  - good entries are claimed and held: SQLITE_FULL is transient and does
#    not use up their retries (--max-retries 1: one lost retry would show
#    as "gave up"), the log says hqd waits for disk space;
#  - a producer's write fails loudly (hqctl enqueue exits non-zero) and
#    leaves nothing behind;
#  - at any moment every entry published is applied, in pending/, in
#    processing/ (only while hqd runs) or in failed/ with its reason;
#  - TERM while the disk is full: exit 0, nothing left in processing/;
#  - once the filler is gone, a restarted hqd drains everything: good
#    entries applied exactly once, bad ones in failed/ with their reason,
#    and the counters of `hqctl stats --json` add up (entries_failed counts
#    entries moved to failed/, nothing else).
# Needs root (mount); skipped (77) where mounting a tmpfs is not permitted.
. "$(dirname "$0")/lib.sh"
: "${HQCTL:?HQCTL must point at the hqctl binary}"
hq4_trap

MNT=$T/fs
if [ "$(id -u)" -ne 0 ] || ! hq4_mount "$MNT" 16m; then
	why=$(cat "$T/mount.err" 2>/dev/null || true)
	echo "cannot mount a tmpfs here (${why:-not root}): skipped"
	exit 77
fi
ROOT=$MNT/queue
DB=$MNT/hive.db
WARM=50		# applied before the disk fills
G1=100		# good entries published at once while it is full
G2=100		# good entries trickling in while it is full
BAD=3		# bad entries published while it is full
GOOD=$((WARM + G1 + G2))
ARGS=(--workers 2 --rescan-interval 0.5 --heartbeat-interval 0.5 --retry-base 0.1
    --max-retries 1)

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start "${ARGS[@]}"
hq_gen "$WARM" t
hq_publish
hq_wait_sql 60 "SELECT count(*) FROM t" "$WARM"
hq_wait_drained 30

# Everything to come is written into .tmp/ while there is room: a
# producer cannot write on a full disk, but its renames still commit.
hq_gen "$G1" t 5 $((WARM + 1))
mkdir -p "$T/later"
for i in $(seq $((WARM + G1 + 1)) "$GOOD"); do
	printf '{"sql":"INSERT INTO t(v) VALUES (?)","params":[%d]}' "$i" \
	    >"$T/later/5_$i.json"
done
for i in $(seq 1 "$BAD"); do
	printf '{"sql":"INSERT INTO nowhere(v) VALUES (%d)"}' "$i" \
	    >"$T/later/5_${i}_bad.json"
done
# The later entries' temp files, on the tmpfs before it fills (a dot
# folder: hq_publish leaves it alone).
mkdir -p "$ROOT/.tmp/.later"
cp "$T"/later/* "$ROOT/.tmp/.later/"

hq4_fill "$MNT"
note "disk full: $(df -h --output=size,used,avail "$MNT" | tail -n 1)"

# 1. Bad entries with idle workers: the note cannot be written.
hq_log_mark
for i in $(seq 1 "$BAD"); do
	mv "$ROOT/.tmp/.later/5_${i}_bad.json" "$ROOT/pending/"
done
hq_wait 30 "a bad entry returned to pending/ (its note unwritable)" \
    hq__log_since_has 'bad\.json: move to failed/; returning it to pending/'
[ "$(find "$ROOT/failed" -type f | wc -l)" -eq 0 ] ||
    fail "failed/ holds files while the disk is full: $(ls -A "$ROOT/failed")"

# 2. A producer on the full disk fails loudly and leaves nothing.
before=$(ls -A "$ROOT/pending" | sort)
tmp_before=$(ls -A "$ROOT/.tmp" | sort)
rc=0
"$HQCTL" --root "$ROOT" enqueue "INSERT INTO t(v) VALUES (-1)" \
    >"$T/enq.out" 2>"$T/enq.err" || rc=$?
[ "$rc" -ne 0 ] || fail "hqctl enqueue succeeded on a full disk"
assert_match "$(cat "$T/enq.err")" 'No space left on device' "hqctl enqueue error"
assert_eq "$(ls -A "$ROOT/pending" | sort)" "$before" "pending/ after a failed enqueue"
assert_eq "$(ls -A "$ROOT/.tmp" | sort)" "$tmp_before" \
    ".tmp/ after a failed enqueue"

# 3. Good entries arrive: claimed, held, waiting for space.
hq_log_mark
hq_publish	# G1 at once
hq_wait 30 "workers waiting for disk space" \
    hq__log_since_has 'batch of [0-9]+: .*full.*; waiting for disk space' 2
for i in $(seq $((WARM + G1 + 1)) "$GOOD"); do
	mv "$ROOT/.tmp/.later/5_$i.json" "$ROOT/pending/"
	[ $((i % 20)) -ne 0 ] || sleep 0.2
done
rmdir "$ROOT/.tmp/.later"
# A few more rounds of waiting, so that a retry counted per round would
# have used up --max-retries 1 several times over.
n=$(hq_log_count_since 'waiting for disk space')
hq_wait 60 "more rounds of waiting" \
    hq__log_since_has 'waiting for disk space' $((n + 4))
assert_eq "$(hq_log_count 'gave up after')" 0 \
    "entries that gave up on a full disk (it must not use up retries)"

# 4. Where every entry is now: workers frozen, so nothing moves between
# two looks. Nothing vanished, nothing in failed/ without a reason.
check_where() {
	local what=$1 running=$2
	hq_sql "SELECT id FROM hq_ledger" >"$T/ledger.out"
	find "$ROOT/pending" "$ROOT/processing" "$ROOT/failed" -type f \
	    >"$T/files.out"
	perl -e '
		my ($ledger, $files, $good, $bad, $running, $what) = @ARGV;
		my (%where, @bad);
		open(my $l, "<", $ledger) or die;
		while (<$l>) { chomp; $where{"$_.json"} .= "applied "; }
		open(my $f, "<", $files) or die;
		while (<$f>) {
			chomp;
			my ($dir, $name) = m{/(pending|processing|failed)/(?:w\d+/)?([^/]+)$}
			    or do { push @bad, "stray file $_"; next };
			$where{$name} .= "$dir ";
		}
		my @all = ((map { "5_$_.json" } 1 .. $good),
		    (map { "5_${_}_bad.json" } 1 .. $bad));
		for my $n (@all) {
			my $w = $where{$n} // "";
			my @w = split " ", $w;
			push @bad, "$n vanished" if !@w;
			push @bad, "$n is in several places: $w" if @w > 1;
			push @bad, "$n in processing/ with hqd stopped"
			    if $w =~ /processing/ && !$running;
			push @bad, "$n (bad) was applied" if $n =~ /bad/ && $w =~ /applied/;
		}
		for my $n (keys %where) {
			next if $n =~ /\.err$/;
			push @bad, "unknown entry $n" unless grep { $_ eq $n } @all;
		}
		for my $n (grep { /\.err$/ } keys %where) {
			(my $e = $n) =~ s/\.err$//;
			push @bad, "note $n without its entry in failed/"
			    unless ($where{$e} // "") =~ /failed/;
		}
		if (@bad) { print "$what: $_\n" for @bad[0 .. ($#bad < 20 ? $#bad : 20)]; exit 1; }' \
	    "$T/ledger.out" "$T/files.out" "$GOOD" "$BAD" "$running" "$what" ||
	    fail "$what: entries not accounted for"
}
hq_freeze
check_where "disk full, hqd running" 1
# And processing/wN holds only what worker N was handed (no entry
# stranded there, e.g. one whose note could not be written).
for slot in 0 1; do
	inhand=$(hq4_stats "\$j->{workers}[$slot]{in_hand}")
	files=$(find "$ROOT/processing/w$slot" -type f 2>/dev/null | wc -l)
	[ "$files" -le "$inhand" ] ||
	    fail "processing/w$slot holds $files files, worker $slot was handed $inhand"
done
held=$(hq_count_entries processing)
applied_full=$(hq_sql "SELECT count(*) FROM t")
# Counters of this run, while full (checked at the end).
failed_full=$(hq4_stats '$j->{entries_failed}')
retried_full=$(hq4_stats '$j->{entries_retried}')
applied_ctr=$(hq4_stats '$j->{entries_applied}')
hq_thaw
[ "$held" -gt 0 ] || fail "no entry held in processing/ while the disk is full"
kill -0 "$HQ_PID" || fail "hqd died on a full disk"
note "disk full: $held held in processing/, $((applied_full - WARM)) more" \
    "applied, $(hq_log_count 'returning it to pending/') failed/" \
    "notes that could not be written"

# 5. TERM on a full disk: exit 0, the claims go back to pending/.
hq_stop_within 60 TERM
assert_eq "$HQ_RC" 0 "exit status of TERM on a full disk"
assert_eq "$(hq_count processing)" 0 "processing/ after TERM on a full disk"
check_where "disk full, hqd stopped" 0
applied_run1=$(hq_sql "SELECT count(*) FROM t")

# 6. Space returns: a new hqd drains everything.
rm -f "$MNT/filler"
hq_log_mark
hq_start "${ARGS[@]}"
hq_wait_sql 120 "SELECT count(*) FROM t" "$GOOD"
hq__bad_failed() {
	[ "$(find "$ROOT/failed" -name '*.err' | wc -l)" -eq "$BAD" ]
}
hq_wait 60 "$BAD bad entries in failed/" hq__bad_failed
hq_wait_drained 30
hq_assert_once t "$GOOD"
for i in $(seq 1 "$BAD"); do
	assert_failed "5_${i}_bad.json" 'no such table: nowhere'
done
assert_eq "$(hq_count_entries failed)" "$BAD" "entries in failed/"
check_where "space back, drained" 1
# The heartbeat is written again.
hq__heartbeat_of() {
	[ "$(hq4_heartbeat '$j->{pid}')" = "$1" ]
}
hq_wait 30 "a heartbeat on the freed disk" hq__heartbeat_of "$HQ_PID"
kill -0 "$HQ_PID" || fail "hqd died"

# 7. Counters. The run on the full disk: no entry reached failed/ and a
# full disk is no retry. The run after: applied what was left, failed the
# bad ones, retried nothing.
assert_eq "$(hq4_stats '$j->{entries_applied}')" $((GOOD - applied_run1)) \
    "entries_applied after the restart"
assert_eq "$(hq4_stats '$j->{entries_failed}')" "$BAD" \
    "entries_failed after the restart (= entries moved to failed/)"
# failed_count is the heartbeat's look at failed/.
hq__failed_count_is() {
	[ "$(hq4_stats '$j->{failed_count}')" = "$1" ]
}
hq_wait 30 "failed_count to be $BAD" hq__failed_count_is "$BAD"
assert_eq "$(hq4_stats '$j->{entries_retried}')" 0 "entries_retried after the restart"
assert_eq "$(hq4_stats '$j->{queue_size} + $j->{processing_count}')" 0 \
    "queue_size + processing_count"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
assert_eq "$(hq_count processing)" 0 "processing/ at exit"
assert_eq "$(hq_log_count 'gave up after')" 0 \
    "entries that gave up (a full disk must not use up retries)"
assert_eq "$applied_ctr" "$applied_full" "entries_applied while full (= rows)"
assert_eq "$retried_full" 0 "entries_retried while the disk was full"
assert_eq "$failed_full" 0 \
    "entries_failed while the disk was full, with failed/ empty (it counts entries moved to failed/)"
note "full disk: nothing lost; $GOOD applied exactly once, $BAD failed with reasons"
