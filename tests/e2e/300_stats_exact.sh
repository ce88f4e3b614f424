#!/usr/bin/env bash
# A known workload, exact counters: 120 good entries (two with an "id"),
# 7 with SQL errors, 3 malformed, then 2 duplicates of the two ids. After
# the drain the heartbeat and `hqctl stats --json` agree on every count,
# keep the old worker's keys with their old types, list the configured
# workers with hqd's children as pids; the Prometheus text and the table
# say the same. The heartbeat's iteration grows and the file is replaced
# atomically: a reader in a tight loop never sees half a document.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

NW=3
hq_sql "CREATE TABLE t(v INTEGER);
	CREATE TABLE u(k TEXT UNIQUE);
	INSERT INTO u(k) VALUES ('taken')"
hq_start --workers "$NW" --heartbeat-interval 0.2
T3_SEGS+=("$(t3_seg_name "$ROOT")")
[ -e "/dev/shm$(t3_seg_name "$ROOT")" ] ||
	fail "no segment $(t3_seg_name "$ROOT") for $ROOT"

# The workload, written to .tmp/ and published in one burst.
perl -e '
	my $d = shift;
	sub put { open(my $f, ">", "$d/$_[0]") or die "$!"; print $f $_[1];
	    close($f) or die "$!" }
	for my $i (1 .. 118) {
		put(sprintf("5_1%03d.json", $i),
		    "{\"sql\":\"INSERT INTO t(v) VALUES (?)\",\"params\":[$i]}");
	}
	put("5_2001.json", "{\"sql\":\"INSERT INTO t(v) VALUES (1001)\",\"id\":\"dup-a\"}");
	put("5_2002.json", "{\"sql\":\"INSERT INTO t(v) VALUES (1002)\",\"id\":\"dup-b\"}");
	# 7 SQL errors
	put("6_3001.json", "{\"sql\":\"INSERT INTO nosuch(v) VALUES (1)\"}");
	put("6_3002.json", "{\"sql\":\"INSERT INTO nosuch(v) VALUES (2)\"}");
	put("6_3003.json", "{\"sql\":\"INSERT INTO nosuch(v) VALUES (3)\"}");
	put("6_3004.json", "{\"sql\":\"INSERT INTO t(v) VALUS (4)\"}");
	put("6_3005.json", "{\"sql\":\"INSRT INTO t(v) VALUES (5)\"}");
	put("6_3006.json", "{\"sql\":\"INSERT INTO u(k) VALUES (?)\",\"params\":[\"taken\"]}");
	put("6_3007.json", "{\"sql\":\"INSERT INTO t(nocol) VALUES (7)\"}");
	# 3 malformed
	put("6_4001.json", "{\"sql\":\"INSERT INTO t(v) VALUES (9001)\",\"params\":[");
	put("6_4002.json", "[\"INSERT INTO t(v) VALUES (9002)\"]");
	put("6_4003.json", "{sql: \"INSERT INTO t(v) VALUES (9003)\"}");
' "$ROOT/.tmp"
hq_publish
hq_wait 60 "120 applied, 10 failed" t3__stats_has \
	'"$j->{entries_applied}/$j->{entries_failed}"' "120/10"
hq_wait_drained 30
# The duplicates, once their ids are in the ledger.
hq_drop 5_5001.json '{"sql":"INSERT INTO t(v) VALUES (-1)","id":"dup-a"}'
hq_drop 5_5002.json '{"sql":"INSERT INTO t(v) VALUES (-2)","id":"dup-b"}'
hq_wait 30 "2 duplicates" t3__stats_has '$j->{entries_duplicate}' 2
hq_wait_drained 30

assert_eq "$(hq_sql "SELECT count(*), count(DISTINCT v), min(v) FROM t")" \
	"120|120|1" "rows applied"
assert_eq "$(hq_count_entries failed)" 10 "entries in failed/"

# The heartbeat catches up within a few intervals.
HB=$(t3_hb)
hq_wait 30 "the heartbeat to show the final counts, workers idle" \
	t3__json_has "$HB" \
	'join "/", @$j{qw(entries_applied entries_failed entries_duplicate queue_size processing_count)}, map { $_->{state} } @{$j->{workers}}' \
	"120/10/2/0/0/idle/idle/idle"
cp "$HB" "$T/hb.json"
t3_stats_json "$T/stats.json"
assert_eq "$T3_RC" 0 "hqctl stats --json exit status"

workers=$(hq_live_workers | sort -n | tr '\n' ' ')
for doc in "$T/hb.json" "$T/stats.json"; do
	n=$(basename "$doc")
	t3_old_keys "$doc"
	t3_check_json "$doc" '$j->{entries_applied}' 120
	t3_check_json "$doc" '$j->{entries_failed}' 10
	t3_check_json "$doc" '$j->{entries_duplicate}' 2
	t3_check_json "$doc" '$j->{entries_retried}' 0
	t3_check_json "$doc" '$j->{events_processed}' 132
	t3_check_json "$doc" '$j->{queue_size}' 0
	t3_check_json "$doc" '$j->{processing_count}' 0
	t3_check_json "$doc" '$j->{oldest_pending_age_seconds}' 0
	t3_check_json "$doc" '$j->{pid}' "$HQ_PID"
	t3_check_json "$doc" '$j->{mode}' event-loop
	t3_check_json "$doc" '$j->{watcher_alive}' 1
	t3_check_json "$doc" '$j->{watcher_pid}' "$HQ_PID"
	t3_check_json "$doc" '$j->{watcher_restarts}' 0
	t3_check_json "$doc" '$j->{schema_version} >= 1' 1
	t3_check_json "$doc" '$j->{iteration} >= 1' 1
	t3_check_json "$doc" '$j->{timestamp} <= time() && $j->{timestamp} > time() - 60' 1
	t3_check_json "$doc" '$j->{last_event_time} > time() - 600' 1
	t3_check_json "$doc" 'join ",", sort { $a <=> $b } values %{$j->{queue_depth}}' \
		"0,0,0,0,0,0,0,0,0,0"
	t3_check_json "$doc" 'scalar @{$j->{workers}}' "$NW"
	t3_check_json "$doc" 'join ",", map { $_->{slot} } @{$j->{workers}}' "0,1,2"
	t3_check_json "$doc" 'join " ", (sort { $a <=> $b } map { $_->{pid} } @{$j->{workers}}), ""' \
		"$workers"
	t3_check_json "$doc" 'my $s = 0; $s += $_->{entries_applied} for @{$j->{workers}}; $s' 120
	t3_check_json "$doc" 'my $s = 0; $s += $_->{entries_failed} for @{$j->{workers}}; $s' 10
	t3_check_json "$doc" 'join ",", map { $_->{state} } @{$j->{workers}}' "idle,idle,idle"
	t3_check_json "$doc" '$j->{latency}{commit}{count}' 120
done
assert_eq "$(echo "$workers" | wc -w)" "$NW" "live workers of hqd"
# hqctl also counts failed/; the heartbeat must not say there are none.
t3_check_json "$T/stats.json" '$j->{failed_count}' 10
t3_check_json "$T/hb.json" '$j->{failed_count}' 10

# Prometheus
t3_run t3_ctl stats --prometheus
assert_eq "$T3_RC" 0 "hqctl stats --prometheus exit status"
cp "$T/out" "$T/prom.txt"
t3_prom_check "$T/prom.txt"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_entries_applied_total)" 120 "hq_entries_applied_total"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_entries_failed_total)" 10 "hq_entries_failed_total"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_entries_duplicate_total)" 2 "hq_entries_duplicate_total"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_up)" 1 "hq_up"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_workers)" "$NW" "hq_workers"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_workers_alive)" "$NW" "hq_workers_alive"
t3_check_eq "$(t3_prom "$T/prom.txt" 'hq_queue_depth{priority="5"}')" 0 "hq_queue_depth 5"
t3_check_eq "$(t3_prom "$T/prom.txt" hq_commit_latency_seconds_count)" 120 \
	"hq_commit_latency_seconds_count"

# The table
t3_run t3_ctl stats
assert_eq "$T3_RC" 0 "hqctl stats exit status"
t3_check_match "$(cat "$T/out")" "pid $HQ_PID" "table names the pid"
t3_check_match "$(cat "$T/out")" "120 applied, 10 failed" "table counts"
t3_check_match "$(cat "$T/out")" "0 pending, 0 processing, 10 failed" "table queue"

# The iteration grows, and no reader ever sees half a heartbeat: read it
# back to back for 2 s (about 10 rewrites), each read one whole document.
it1=$(t3_json "$HB" '$j->{iteration}')
perl -MJSON::PP -MTime::HiRes=time -e '
	my ($file, $secs) = @ARGV;
	my ($reads, $bad, $last, $first) = (0, 0, -1, undef);
	my $end = time() + $secs;
	while (time() < $end) {
		my $f;
		if (!open($f, "<", $file)) {
			print STDERR "open $file: $!\n";
			$bad++;
			next;
		}
		my $t = do { local $/; <$f> };
		close($f);
		$reads++;
		my $j = eval { decode_json($t) };
		if (!$j || $t !~ /\}\n\z/) {
			print STDERR "partial heartbeat (", length($t), " bytes)\n";
			$bad++;
			next;
		}
		if ($j->{iteration} < $last) {
			print STDERR "iteration went back: $j->{iteration} < $last\n";
			$bad++;
		}
		$first //= $j->{iteration};
		$last = $j->{iteration};
	}
	print "reads $reads first $first last $last\n";
	exit($bad ? 1 : 0);' "$HB" 2 >"$T/hbloop.out" || fail "heartbeat reads: $(cat "$T/hbloop.out")"
note "$(cat "$T/hbloop.out")"
hq__iteration_past() {
	[ "$(t3_json "$HB" '$j->{iteration}')" -gt "$1" ]
}
hq_wait 30 "the heartbeat iteration to pass $it1" hq__iteration_past "$it1"
read -r _ reads _ first _ last <"$T/hbloop.out"
[ "$reads" -gt 10 ] || fail "only $reads heartbeat reads in 2 s"

t3_done
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
[ ! -e "/dev/shm$(t3_seg_name "$ROOT")" ] || fail "segment left after TERM"
[ ! -e "$HB" ] || fail ".heartbeat left after TERM"
note "exact counters in the heartbeat, hqctl --json, --prometheus and the table"
