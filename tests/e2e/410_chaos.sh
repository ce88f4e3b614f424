#!/usr/bin/env bash
# Chaos: entries keep arriving while workers are SIGKILLed at random every
# few hundred ms and the supervisor once; one entry in CHAOS_HOSTILE_EVERY
# is hostile (issue 11: TEMP table, view or trigger shadowing the ledger or
# the table, fts3_tokenizer, a failing statement, PRAGMA wal_checkpoint).
# Afterwards every innocent entry is applied exactly once, every hostile
# one is in failed/ with a reason, nothing else is in failed/ and nothing
# is left behind.
#   410_chaos.sh            the short run ctest does
#   410_chaos.sh --long     minutes: CHAOS_ENTRIES=100000 CHAOS_SECONDS=300
# Tunables: CHAOS_ENTRIES, CHAOS_SECONDS (production time),
# CHAOS_HOSTILE_EVERY (100; 0: no hostile entry), CHAOS_REPORT (a file the
# summary line is appended to).
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --long ]; then
	: "${CHAOS_ENTRIES:=100000}" "${CHAOS_SECONDS:=300}"
fi
N=${CHAOS_ENTRIES:-6000}
SECS=${CHAOS_SECONDS:-12}
EVERY=${CHAOS_HOSTILE_EVERY:-100}

hq_sql "CREATE TABLE t(v INTEGER)"
mkdir -p "$ROOT/.tmp" "$ROOT/pending"
hq_start --workers 2

# Producer: N entries spread over SECS seconds, each written to .tmp/ and
# renamed into pending/. The i-th inserts i into t, unless i is a multiple
# of EVERY: then it is hostile, the next kind in turn, and its name goes to
# $T/hostile.
perl -e '
	use Time::HiRes qw(time sleep);
	my ($root, $n, $secs, $every, $list) = @ARGV;
	my @kinds = (
	    "CREATE TEMP TABLE hq_ledger(id TEXT, applied_at INT, k DEFAULT 1 PRIMARY KEY)",
	    "CREATE TEMP VIEW hq_ledger AS SELECT 1 AS id, 2 AS applied_at",
	    "CREATE TEMP TRIGGER tt_%d BEFORE INSERT ON t BEGIN SELECT RAISE(IGNORE); END",
	    "CREATE TEMP TABLE t(v)",
	    "INSERT INTO t(v) SELECT fts3_tokenizer(\x27simple\x27)",
	    "INSERT INTO nowhere(v) VALUES (%d)",
	    "PRAGMA wal_checkpoint");
	open(my $l, ">", $list) or die "$list: $!";
	$l->autoflush(1);
	my $t0 = time;
	for my $i (1 .. $n) {
		my $f = sprintf("5_%d_%06d.json", int($t0), $i);
		open(my $h, ">", "$root/.tmp/$f") or die "$f: $!";
		if ($every > 0 && $i % $every == 0) {
			my $sql = sprintf($kinds[($i / $every - 1) % @kinds], $i);
			print $h "{\"sql\":\"$sql\"}";
			print $l "$f\n";
		} else {
			print $h "{\"sql\":\"INSERT INTO t(v) VALUES (?)\",\"params\":[$i]}";
		}
		close($h) or die;
		rename("$root/.tmp/$f", "$root/pending/$f") or die "$f: $!";
		my $ahead = $t0 + $secs * $i / $n - time;
		sleep($ahead) if $ahead > 0;
	}' "$ROOT" "$N" "$SECS" "$EVERY" "$T/hostile" &
producer=$!

kills=0
sup_kills=0
start=$(date +%s)
while kill -0 "$producer" 2>/dev/null; do
	sleep "0.$((RANDOM % 5 + 2))"
	if [ "$sup_kills" -eq 0 ] && [ $(( $(date +%s) - start )) -ge $((SECS / 2)) ]; then
		# Once: the supervisor (its workers follow it), then a restart.
		kill -KILL "$HQ_PID"
		wait "$HQ_PID" 2>/dev/null || true
		HQ_PID=
		sup_kills=1
		hq_start --workers 2
		continue
	fi
	victim=$(pgrep -P "$HQ_PID" | shuf -n 1 || true)
	if [ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null; then
		kills=$((kills + 1))
	fi
done
wait "$producer" || fail "producer failed"

hq_wait_drained 300
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
# Innocent entries: lost (not applied), applied twice; rows of t that no
# innocent entry inserted (a hostile one's, e.g. fts3_tokenizer's blob).
hq_sql "SELECT quote(v) FROM t" >"$T/applied"
read -r lost dup foreign < <(perl -e '
	my ($n, $every, $applied) = @ARGV;
	my (%seen, $dup, $foreign);
	open(my $a, "<", $applied) or die "$applied: $!";
	while (my $v = <$a>) {
		chomp $v;
		if ($v !~ /^[0-9]+$/ || $v < 1 || $v > $n ||
		    ($every > 0 && $v % $every == 0)) { $foreign++; next; }
		$dup++ if $seen{$v}++;
	}
	my $lost = 0;
	for my $i (1 .. $n) {
		next if $every > 0 && $i % $every == 0;
		$lost++ unless $seen{$i};
	}
	printf "%d %d %d\n", $lost, $dup // 0, $foreign // 0;' "$N" "$EVERY" "$T/applied")
mapfile -t hostile <"$T/hostile"
failed=$(hq_count_entries failed)
secs=$(( $(date +%s) - start ))
summary="chaos: entries=$N hostile=${#hostile[@]} worker_kills=$kills supervisor_kills=$sup_kills seconds=$secs lost=$lost duplicated=$dup foreign_rows=$foreign failed=$failed"
note "$summary"
[ -n "${CHAOS_REPORT:-}" ] && echo "$(date -u +%FT%TZ) $summary" >>"$CHAOS_REPORT"
assert_eq "$lost" 0 "innocent entries lost"
assert_eq "$dup" 0 "innocent entries applied twice"
assert_eq "$foreign" 0 "rows of t no innocent entry inserted"
# Every hostile entry in failed/ with a reason, and nothing else there.
hq_failed_only "${hostile[@]}"
assert_eq "$(hq_count_entries processing)" 0 "processing/"
