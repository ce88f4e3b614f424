#!/usr/bin/env bash
# Chaos: entries keep arriving while workers are SIGKILLed at random every
# few hundred ms and the supervisor once; afterwards every entry is applied
# exactly once and nothing is left behind.
#   410_chaos.sh            the short run ctest does
#   410_chaos.sh --long     minutes: CHAOS_ENTRIES=100000 CHAOS_SECONDS=300
# Tunables: CHAOS_ENTRIES, CHAOS_SECONDS (production time), CHAOS_REPORT
# (a file the summary line is appended to).
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --long ]; then
	: "${CHAOS_ENTRIES:=100000}" "${CHAOS_SECONDS:=300}"
fi
N=${CHAOS_ENTRIES:-6000}
SECS=${CHAOS_SECONDS:-12}

hq_sql "CREATE TABLE t(v INTEGER)"
mkdir -p "$ROOT/.tmp" "$ROOT/pending"
hq_start --workers 2

# Producer: N entries spread over SECS seconds, each written to .tmp/ and
# renamed into pending/.
perl -e '
	use Time::HiRes qw(time sleep);
	my ($root, $n, $secs) = @ARGV;
	my $t0 = time;
	for my $i (1 .. $n) {
		my $f = sprintf("5_%d_%06d.json", int($t0), $i);
		open(my $h, ">", "$root/.tmp/$f") or die "$f: $!";
		print $h "{\"sql\":\"INSERT INTO t(v) VALUES (?)\",\"params\":[$i]}";
		close($h) or die;
		rename("$root/.tmp/$f", "$root/pending/$f") or die "$f: $!";
		my $ahead = $t0 + $secs * $i / $n - time;
		sleep($ahead) if $ahead > 0;
	}' "$ROOT" "$N" "$SECS" &
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
got=$(hq_sql "SELECT count(*), count(DISTINCT v) FROM t")
rows=${got%|*}
distinct=${got#*|}
lost=$((N - distinct))
dup=$((rows - distinct))
poisoned=$(hq_count_entries failed)
secs=$(( $(date +%s) - start ))
summary="chaos: entries=$N worker_kills=$kills supervisor_kills=$sup_kills seconds=$secs lost=$lost duplicated=$dup failed=$poisoned"
note "$summary"
[ -n "${CHAOS_REPORT:-}" ] && echo "$(date -u +%FT%TZ) $summary" >>"$CHAOS_REPORT"
assert_eq "$lost" 0 "entries lost"
assert_eq "$dup" 0 "entries applied twice"
assert_eq "$poisoned" 0 "entries in failed/"
assert_eq "$(hq_count_entries processing)" 0 "processing/"
