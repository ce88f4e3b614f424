#!/usr/bin/env bash
# hqd --http: every endpoint's status and content type; /metrics through
# promtool and against the database's truth; two /events documents; 50
# stalled clients (half-sent requests and /events readers that never read)
# held open while entries are applied and /healthz keeps answering, the
# half-sent ones closed by the request deadline; the connection limit;
# /healthz and
# /readyz saying 503 with the reason; bad addresses refused at start; a
# TERM with a stream open ends the stream and hqd.
. "$(dirname "$0")/lib.sh"

for tool in curl promtool; do
	command -v "$tool" >/dev/null || {
		echo "$tool not installed: skipped"
		exit 77
	}
done

# 1. Addresses refused before anything starts.
for bad in 9464 127.0.0.1 127.0.0.1:99999 '::1:9464' 127.0.0.1:x; do
	rc=0
	"$HQD" --root "$ROOT" --db "$DB" --http "$bad" >"$T/out" 2>&1 || rc=$?
	assert_eq "$rc" 78 "exit status for --http '$bad'"
	grep -q "is not ADDR:PORT" "$T/out" || fail "no reason for '$bad': $(cat "$T/out")"
done
# A port someone else holds: 71, naming the address.
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
	    Listen => 1, ReuseAddr => 0) or die "listen: $!";
	open(my $f, ">", $ARGV[0]) or die; print $f $s->sockport, "\n"; close $f;
	sleep 30;' "$T/busyport" &
HQ_BG+=($!)
hq_wait 10 "a busy port" test -s "$T/busyport"
busy=$(cat "$T/busyport")
rc=0
"$HQD" --root "$ROOT" --db "$DB" --http "127.0.0.1:$busy" >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 71 "exit status for a port in use"
grep -q "http: 127.0.0.1:$busy: Address already in use" "$T/out" ||
    fail "bind failure not explained: $(cat "$T/out")"

# libmicrohttpd is loaded only for --http: without it, hqd says so and
# stops before any worker starts.
rc=0
HQ_TEST_MHD_SONAME=libhq-no-such-library.so.1 "$HQD" --root "$ROOT" \
    --db "$DB" --http 127.0.0.1:0 >"$T/out" 2>&1 || rc=$?
assert_eq "$rc" 71 "exit status without libmicrohttpd"
grep -q -- "--http needs libhq-no-such-library.so.1 (Debian: libmicrohttpd12)" \
    "$T/out" || fail "missing library not explained: $(cat "$T/out")"

hq_sql "CREATE TABLE t(v INTEGER)"
# A long busy timeout: section 7 holds a drain up with a locked database.
hq_start --workers 2 --heartbeat-interval 1 --busy-timeout 6000 \
    --http 127.0.0.1:0
hq_wait 10 "the http log line" grep -q 'http: serving on http://127.0.0.1:' "$LOG"
PORT=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$LOG" | head -1 | cut -d: -f3)
URL=http://127.0.0.1:$PORT
note "listening on $URL"

# get PATH [curl args]: "STATUS CONTENT-TYPE" on stdout, the body in $T/body.
get() {
	local path=$1
	shift
	curl -sS --max-time 5 -o "$T/body" -w '%{http_code} %{content_type}\n' \
	    "$@" "$URL$path"
}

# 2. Every endpoint, status and content type.
assert_eq "$(get /)" "200 text/html; charset=utf-8" "/"
grep -qi '<html' "$T/body" || fail "/ is not a page"
grep -qi 'EventSource' "$T/body" || fail "the page does not read /events"
grep -Eiq '(src|href)="?(https?:)?//' "$T/body" && fail "the page loads something from elsewhere"
assert_eq "$(get /metrics)" "200 text/plain; version=0.0.4; charset=utf-8" "/metrics"
assert_eq "$(get /stats.json)" "200 application/json" "/stats.json"
perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>);
	die "schema\n" unless $j->{schema_version} == 1;
	die "daemon\n" unless $j->{daemon} eq "up";' <"$T/body" ||
    fail "/stats.json is not the heartbeat document"
hq_wait 10 "/readyz to pass" sh -c "curl -sf -o /dev/null '$URL/readyz'"
assert_eq "$(get /readyz)" "200 text/plain; charset=utf-8" "/readyz"
grep -q '^ready: 2 of 2 workers, 0 queued$' "$T/body" || fail "/readyz body: $(cat "$T/body")"
assert_eq "$(get /healthz)" "200 text/plain; charset=utf-8" "/healthz"
grep -q "^healthy: hqd pid $HQ_PID, 2 workers, inotify\$" "$T/body" ||
    fail "/healthz body: $(cat "$T/body")"
assert_eq "$(get /nope)" "404 text/plain; charset=utf-8" "unknown path"
assert_eq "$(get /metrics -X POST)" "405 text/plain; charset=utf-8" "POST"
curl -sS -X DELETE -D "$T/headers" -o /dev/null "$URL/"
grep -qi '^Allow: GET, HEAD' "$T/headers" || fail "405 without Allow"
assert_eq "$(curl -sS -I -o /dev/null -w '%{http_code}' "$URL/metrics")" 200 "HEAD"

# 3. /metrics: promtool's lint, and the numbers the database proves.
get /metrics >/dev/null
promtool check metrics <"$T/body" >"$T/promtool" 2>&1 ||
    fail "promtool check metrics: $(cat "$T/promtool")"
for want in '^hq_build_info\{version="[^"]+"\} 1$' \
    '^# TYPE hq_entries_applied_total counter$' \
    '^# TYPE hq_exec_latency_seconds histogram$' \
    '^hq_exec_latency_seconds_bucket\{le="\+Inf"\} 0$' \
    '^hq_exec_latency_seconds_count 0$' '^hq_commit_latency_seconds_sum 0' \
    '^hq_queue_depth\{priority="5"\} 0$' \
    '^hq_queue_oldest_pending_age_seconds 0$' '^hq_up 1$'; do
	grep -Eq -- "$want" "$T/body" || fail "/metrics lacks /$want/"
done
hq_gen 300 t
hq_publish
hq_wait_sql 30 "SELECT count(*) FROM t" 300
metric() {	# metric NAME: its value in a fresh scrape
	curl -sS --max-time 5 "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
metric_is() {	# metric_is NAME VALUE: a function, so hq_wait scrapes anew each try
	[ "$(metric "$1")" = "$2" ]
}
hq_wait 10 "applied_total to reach 300" metric_is hq_entries_applied_total 300
assert_eq "$(metric hq_exec_latency_seconds_count)" 300 "exec histogram count"

# 4. Two /events documents, a second apart, each the heartbeat plus a window.
timeout 5 curl -sS -N "$URL/events" >"$T/events" 2>/dev/null || true
perl -MJSON::PP -ne '
	next unless s/^data: //;
	my $j = decode_json($_);
	die "no window\n" unless exists $j->{window}{applied};
	die "no workers\n" unless @{$j->{workers}} == 2;
	$n++; END { die "only $n documents\n" if $n < 2; print "$n\n" }' \
    "$T/events" >"$T/ndocs" || fail "/events: $(head -c 300 "$T/events")"
grep -q '^retry: 1000$' "$T/events" || fail "/events without retry"
note "/events: $(cat "$T/ndocs") documents in 5 s"

# 5. 50 stalled clients held open: 25 send half a request and stop, 25
# open /events and never read (each kind from its own address: one holds
# at most 32). Meanwhile entries are applied and /healthz answers every
# time. Then the half-sent ones are closed by the server.
cat >"$T/stall.pl" <<'EOF'
use IO::Socket::INET; use Socket;
my ($port, $out) = @ARGV;
my (@half, @sse);
for (1..25) {
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
	    LocalAddr => "127.0.0.2") or die "connect: $!";
	$s->send("GET /metrics HTTP/1.1\r\nHost: x\r\n");
	push @half, $s;
	my $e = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port,
	    LocalAddr => "127.0.0.3") or die "connect: $!";
	setsockopt($e, SOL_SOCKET, SO_RCVBUF, 4096);
	$e->send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
	push @sse, $e;
}
open(my $f, ">", "$out.up") or die; close $f;
# Wait for the server to give up on the half-sent requests.
my $t0 = time; my $closed = 0;
for my $s (@half) {
	$s->blocking(1);
	$s->timeout(40);
	my $buf; my $n = sysread($s, $buf, 4096);
	$closed++ if defined $n;	# EOF or the 408 before it
}
open($f, ">", $out) or die; printf $f "%d %d\n", $closed, time - $t0; close $f;
sleep 600;
EOF
perl "$T/stall.pl" "$PORT" "$T/stall" &
STALL=$!
HQ_BG+=("$STALL")
hq_wait 20 "50 stalled clients" test -e "$T/stall.up"
conns=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
[ "$conns" -ge 50 ] || fail "only $conns connections are held"
# Ten rounds of 200 entries, /healthz asked between rounds and while each
# round is applied.
slow=0
n=0
for round in $(seq 0 9); do
	hq_gen 200 t 5 $((301 + round * 200))
	hq_publish
	until [ "$(hq_sql "SELECT count(*) FROM t")" -ge $((500 + round * 200)) ]; do
		t0=$(date +%s%N)
		code=$(curl -sS --max-time $((3 * HQ_TMUL)) -o /dev/null -w '%{http_code}' "$URL/healthz") ||
		    fail "/healthz did not answer with 50 stalled clients"
		assert_eq "$code" 200 "/healthz with 50 stalled clients"
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$slow" ] && slow=$ms
		n=$((n + 1))
		[ "$n" -lt 2000 ] || fail "entries not applied with stalled clients"
	done
done
hq_wait_sql 30 "SELECT count(*) FROM t" 2300
note "2000 entries applied with 50 stalled clients; /healthz answered $n times, slowest ${slow} ms"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$HQ_PID/status")
note "supervisor RSS with 50 stalled clients: ${rss} kB"
# (Under valgrind, RSS is valgrind's: not ours to judge.)
[ -n "${VG_LOGDIR:-}" ] || [ "$rss" -lt 32768 ] ||
    fail "supervisor RSS ${rss} kB with 50 stalled clients"
hq_wait 45 "the server to close the half-sent requests" test -s "$T/stall"
read -r closed secs <"$T/stall"
assert_eq "$closed" 25 "half-sent requests closed by the server"
note "half-sent requests closed after about ${secs} s"

# 6. The connection limit: 200 more connections from eight addresses; hqd
# holds at most 128 (a new one makes the oldest without a request go);
# /healthz answers meanwhile and after.
kill "$STALL" 2>/dev/null || true
wait "$STALL" 2>/dev/null || true
socks() {	# sockets hqd holds open
	find "/proc/$HQ_PID/fd" -lname 'socket:*' 2>/dev/null | wc -l
}
socks_le() {	# a function: hq_wait must count again at every try
	[ "$(socks)" -le "$1" ]
}
hq_wait 20 "the stalled sockets to close" socks_le 8
base=$(socks)
perl -MIO::Socket::INET -e '
	my @s;
	for (0..199) {
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $ARGV[0], LocalAddr => "127.0.0." . (2 + $_ % 8),
		    Timeout => 1) or next;
		push @s, $s;
	}
	open(my $f, ">", $ARGV[1]) or die; print $f scalar(@s), "\n"; close $f;
	sleep 15;' "$PORT" "$T/flood" &
FLOOD=$!
HQ_BG+=("$FLOOD")
hq_wait 30 "200 connections tried" test -s "$T/flood"
# The kernel completes the connections; hqd accepts them at its own pace
# (under valgrind on a loaded machine, seconds): wait for it to catch up.
held_ge() {
	[ $(($(socks) - base)) -ge "$1" ]
}
hq_wait 10 "hqd to accept 100 connections" held_ge 100
held=$(($(socks) - base))
note "200 connections tried, $(cat "$T/flood") connected, $held held by hqd"
[ "$held" -le 128 ] || fail "hqd holds $held connections, past its limit of 128"
limit=$HQ_TMUL
code=$(curl -sS --max-time "$limit" -o /dev/null -w '%{http_code}' "$URL/healthz") ||
    fail "/healthz did not answer within $limit s with the table full"
assert_eq "$code" 200 "/healthz with the table full"
wait "$FLOOD" 2>/dev/null || true
hq_wait 20 "/healthz after the flood" sh -c "curl -sf -o /dev/null '$URL/healthz'"

# 7. 503 with the reason during a drain: a worker waits on a locked
# database (busy timeout 6 s) when TERM comes, which holds the drain up.
hq_hold 15
printf '{"sql":"INSERT INTO t(v) VALUES (0)"}' >"$ROOT/.tmp/$(hq_name)"
hq_publish
processing_is() {
	[ "$(hq_count_entries processing)" -eq "$1" ]
}
hq_wait 10 "the entry to be claimed" processing_is 1
timeout 30 curl -sS -N "$URL/events" >"$T/events2" 2>/dev/null &
SSE=$!
sleep 0.3
kill -TERM "$HQ_PID"
hq_wait 5 "/readyz to say draining" sh -c \
    "curl -s '$URL/readyz' | grep -q '^not ready: draining\$'"
code=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/readyz")
assert_eq "$code" 503 "/readyz while draining"
code=$(curl -s -o "$T/body" -w '%{http_code}' "$URL/healthz")
assert_eq "$code" 503 "/healthz while draining"
grep -q "^unhealthy: hqd pid $HQ_PID is shutting down$" "$T/body" ||
    fail "/healthz body while draining: $(cat "$T/body")"
hq_wait 30 "hqd to exit" hq_gone "$HQ_PID"
wait "$HQ_PID" || fail "hqd exited with $?"
HQ_PID=
hq_release
# The stream ended with hqd (curl's own timeout did not end it).
rc=0
wait "$SSE" || rc=$?
[ "$rc" -ne 124 ] || fail "/events stayed open after hqd exited"
grep -q '"draining":true' "$T/events2" || fail "/events never showed the drain"
assert_eq "$(hq_sql "SELECT count(*) FROM t")" 2300 "rows at the end"
assert_eq "$(hq_count_entries pending)" 1 "the interrupted entry, back in pending/"
