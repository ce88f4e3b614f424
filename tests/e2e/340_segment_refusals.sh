#!/usr/bin/env bash
# hqctl pointed (--shm-name) at a segment it must not trust: another
# program's bytes, an older or newer layout, truncated, sizes that
# disagree, not ready, left by a killed hqd. Every command refuses with a
# clear one-line reason and a sysexits status, never crashes, and never
# prints a number from the bad segment (the queue depths it still prints
# come from the directories). The live segment, as a control, is read.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

P=/hq-e2e-340-$$
LIVE=$P-live
T3_SEGS+=("$LIVE" "$P-dead")

# A live hqd with 5 entries applied: the source of the bad segments.
hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 2 --shm-name "$LIVE" --heartbeat-interval 0.2
for i in 1 2 3 4 5; do
	hq_drop "5_$i.json" "{\"sql\":\"INSERT INTO t(v) VALUES ($i)\"}"
done
hq_wait_sql 30 "SELECT count(*) FROM t" 5
hq_wait_drained 30
[ -f "/dev/shm$LIVE" ] || fail "no /dev/shm$LIVE"
cp "/dev/shm$LIVE" "$T/live.bin"
SIZE=$(stat -c %s "$T/live.bin")
LIVE_PID=$HQ_PID

# A killed hqd of another root, which had applied 7 entries.
ROOT2=$T/queue2
DB2=$T/hive2.db
"$DBQ" "$DB2" "CREATE TABLE t(v INTEGER)"
"$HQD" --root "$ROOT2" --db "$DB2" --workers 1 --shm-name "$P-dead" \
	>>"$T/hqd2.log" 2>&1 &
DEAD=$!
T3_PIDS+=("$DEAD")
hq__dead_started() { grep -q ': started: ' "$T/hqd2.log"; }
hq_wait 10 "the second hqd to start" hq__dead_started
mkdir -p "$ROOT2/.tmp"
for i in 1 2 3 4 5 6 7; do
	printf '{"sql":"INSERT INTO t(v) VALUES (%d)"}' "$i" >"$ROOT2/.tmp/5_$i.json"
	mv "$ROOT2/.tmp/5_$i.json" "$ROOT2/pending/5_$i.json"
done
hq__dead_applied() { [ "$("$DBQ" "$DB2" "SELECT count(*) FROM t")" = 7 ]; }
hq_wait 30 "the second hqd to apply 7" hq__dead_applied
kill -KILL "$DEAD"
wait "$DEAD" 2>/dev/null || true
[ -f "/dev/shm$P-dead" ] || fail "the killed hqd left no segment"

# seg NAME SOURCE: a bad segment from a recipe (perl over the live bytes).
seg() {
	local name=$P-$1
	T3_SEGS+=("$name")
	perl -e '
		my ($src, $dst, $recipe, $size) = @ARGV;
		open(my $f, "<:raw", $src) or die "$src: $!";
		my $b = do { local $/; <$f> };
		my $r = "";
		if ($recipe eq "random") {
			open(my $u, "<:raw", "/dev/urandom") or die;
			read($u, $r, $size);
			substr($r, 0, 8) = "NOTOURS!";
			$b = $r;
		} elsif ($recipe eq "random100") {
			open(my $u, "<:raw", "/dev/urandom") or die;
			read($u, $b, 100);
		} elsif ($recipe eq "zeros") {
			$b = "\0" x $size;
		} elsif ($recipe =~ /^version(\d+)$/) {
			substr($b, 8, 4) = pack("V", $1);
		} elsif ($recipe eq "old-layout") {
			# version 0 and another size, as an older hq would have
			substr($b, 8, 4) = pack("V", 0);
			$b = substr($b, 0, 65536);
		} elsif ($recipe =~ /^head(\d+)$/) {
			$b = substr($b, 0, $1);
		} elsif ($recipe eq "longer") {
			$b .= "\0" x 4096;
		} elsif ($recipe eq "header-size") {
			substr($b, 12, 4) = pack("V", unpack("V", substr($b, 12, 4)) + 64);
		} elsif ($recipe eq "nslots") {
			substr($b, 20, 4) = pack("V", 3);
		} elsif ($recipe eq "not-ready") {
			substr($b, 568, 4) = pack("V", 0);
		} else {
			die "recipe $recipe";
		}
		open(my $o, ">:raw", "/dev/shm$dst") or die "$dst: $!";
		print $o $b;
		close($o) or die;' "$T/live.bin" "$name" "$1" "$SIZE"
}

# The layout constants the recipes rely on: magic, version 5, ready at 568.
perl -e '
	open(my $f, "<:raw", $ARGV[0]) or die; my $b = do { local $/; <$f> };
	die "magic\n" unless substr($b, 0, 8) eq pack("Q<", 0x3147455351480000);
	die "version\n" unless unpack("V", substr($b, 8, 4)) == 5;
	die "total_size\n" unless unpack("Q<", substr($b, 24, 8)) == length($b);
	die "ready\n" unless unpack("V", substr($b, 568, 4)) == 1;
	die "root\n" unless substr($b, 56, 256) =~ /^\Q$ARGV[1]\E\0/;' \
	"$T/live.bin" "$(realpath "$ROOT")" ||
	fail "the live segment's header is not laid out as this test assumes"

# A root of its own for hqctl, with 2 entries pending and no hqd.
OTHER=$T/other
mkdir -p "$OTHER/.tmp" "$OTHER/pending" "$OTHER/processing" "$OTHER/failed" \
	"$OTHER/completed"
echo '{"sql":"SELECT 1"}' >"$OTHER/pending/5_1.json"
echo '{"sql":"SELECT 1"}' >"$OTHER/pending/3_2.json"

# check NAME STATUS ERE: every hqctl command on segment NAME refuses.
check() {
	local name=$1 want=$2 re=$3 fmt
	for fmt in --json "" --prometheus; do
		t3_run "$HQCTL" --root "$OTHER" --shm-name "$name" stats $fmt
		[ "$T3_RC" -eq "$want" ] ||
			fail "$name stats $fmt: exit $T3_RC, want $want ($(cat "$T/err"))"
		assert_eq "$(wc -l <"$T/err")" 1 "$name stats $fmt: stderr lines"
		t3_assert_match "$(cat "$T/err")" "^hqctl: hqd is down: ($re)\$" \
			"$name stats $fmt: message"
		case $fmt in
		--json)
			cp "$T/out" "$T/bad.json"
			t3_json_is "$T/bad.json" \
			    'join "/", @$j{qw(daemon pid entries_applied entries_failed iteration queue_size)}, scalar @{$j->{workers}}' \
			    "down/0/0/0/0/2/0"
			t3_json_is "$T/bad.json" '$j->{queue_depth}{3} . "," . $j->{queue_depth}{5}' "1,1"
			;;
		"")
			t3_assert_match "$(head -1 "$T/out")" '^hqd +down$' "$name table"
			t3_assert_match "$(cat "$T/out")" ' 0 applied, 0 failed' "$name table counts"
			t3_assert_match "$(cat "$T/out")" '2 pending, 0 processing' "$name table depths"
			;;
		--prometheus)
			cp "$T/out" "$T/bad.prom"
			t3_prom_check "$T/bad.prom"
			assert_eq "$(t3_prom "$T/bad.prom" hq_up)" 0 "$name hq_up"
			assert_eq "$(t3_prom "$T/bad.prom" hq_entries_applied_total)" 0 \
				"$name hq_entries_applied_total"
			;;
		esac
		# nothing of either hqd: their pids and roots
		if grep -q -E "(^|[^0-9])($LIVE_PID|$DEAD)([^0-9]|$)" "$T/out" ||
		    grep -q -F -e "$ROOT" -e "$ROOT2" "$T/out"; then
			fail "$name stats $fmt shows the bad segment's data: $(cat "$T/out")"
		fi
	done
	t3_run "$HQCTL" --root "$OTHER" --shm-name "$name" health
	[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
		fail "$name health: exit $T3_RC"
	assert_eq "$(wc -l <"$T/out")" 1 "$name health: lines"
	t3_assert_match "$(cat "$T/out")" "^unhealthy: ($re)\$" "$name health: message"
	note "$name: $(cat "$T/out")"
}

V=5	# this build's layout version (checked above)
seg random
check "$P-random" 65 'not an hq stats segment \(bad magic\)'
seg random100
check "$P-random100" 65 'not an hq stats segment \(bad magic\)'
seg zeros
check "$P-zeros" 65 'not an hq stats segment \(bad magic\)'
seg version0
check "$P-version0" 65 "segment layout version 0, this hqctl reads version $V.*"
seg version$((V + 1))
check "$P-version$((V + 1))" 65 "segment layout version $((V + 1)), this hqctl reads version $V.*"
seg old-layout
check "$P-old-layout" 65 "segment layout version 0, this hqctl reads version $V.*"
seg head1000
check "$P-head1000" 65 '.*(truncated|disagree).*1000 bytes.*'
seg head4
check "$P-head4" 65 ".*truncated \(4 bytes\)"
seg longer
check "$P-longer" 65 ".*(sizes disagree|truncated).*$((SIZE + 4096)).*"
seg header-size
check "$P-header-size" 65 '.*sizes disagree.*'
seg nslots
check "$P-nslots" 65 '.*sizes disagree.*'
seg not-ready
check "$P-not-ready" 69 "hqd pid $LIVE_PID is starting or stopping"
check "$P-dead" 69 "segment left by hqd pid $DEAD, which is not running"
check "$P-missing" 69 "no stats segment $P-missing: hqd is not running for this root"

# Control: the live segment is read, with its numbers.
t3_run "$HQCTL" --root "$ROOT" --shm-name "$LIVE" stats --json
assert_eq "$T3_RC" 0 "stats of the live segment"
cp "$T/out" "$T/live.json"
t3_json_is "$T/live.json" '"$j->{pid}/$j->{entries_applied}"' "$LIVE_PID/5"
t3_run "$HQCTL" --root "$ROOT" --shm-name "$LIVE" health
assert_eq "$T3_RC" 0 "health of the live segment"
# A bad --shm-name is a configuration error.
t3_run "$HQCTL" --root "$ROOT" --shm-name "no-slash" stats
assert_eq "$T3_RC" 78 "stats --shm-name no-slash"
t3_assert_match "$(cat "$T/err")" 'shm-name' "stats --shm-name no-slash: message"

hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
[ ! -e "/dev/shm$LIVE" ] || fail "the live segment is left after TERM"
note "bad segments refused with a reason; no number from them shown"
