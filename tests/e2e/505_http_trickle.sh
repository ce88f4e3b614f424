#!/usr/bin/env bash
# A slow trickle must not starve the probes (issue 12, item 4). First 30
# clients that send a request one byte every 2-4 s are each closed 5 s
# after they connected (the request deadline; MHD's inactivity timeout
# never fired, each byte restarted it). Then 200 such clients from eight
# loopback addresses (127.0.0.2-9), reconnecting as soon as they are
# closed, fill the connection table, and /healthz and /readyz, asked from
# 127.0.0.1 and from one of the trickling addresses, answer 200 within 1 s
# every time. Then one address opens 60 idle connections: hqd holds at
# most 32 of them, and a probe from that address still gets in. Last, of
# 70 /events streams 64 are served, 6 told 503.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
perl -MIO::Socket::INET -e 'IO::Socket::INET->new(LocalAddr => "127.0.0.9",
    PeerAddr => "127.0.0.1", PeerPort => 9, Proto => "udp") or exit 1' ||
    { echo "cannot bind 127.0.0.9: skipped"; exit 77; }

hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 1 --http 127.0.0.1:0
hq_wait 10 "the http log line" grep -q 'http: serving on http://127.0.0.1:' "$LOG"
PORT=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$LOG" | head -1 | cut -d: -f3)
URL=http://127.0.0.1:$PORT
hq_wait 10 "/readyz to pass" sh -c "curl -sf -o /dev/null '$URL/readyz'"

# trickle SECS N FIRST LAST OUT: N connections from each of 127.0.0.FIRST
# to 127.0.0.LAST, in one perl process, for SECS. Writes OUT.up once all
# are connected, and at the end "closes min_age_ms max_age_ms open" about
# the connections the server closed.
cat >"$T/trickle.pl" <<'EOF'
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time);
$SIG{PIPE} = "IGNORE";
my ($port, $secs, $per, $first, $last, $out) = @ARGV;
my $req = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " . ("a" x 1000);
my (%c, $closes, $minage, $maxage);
$closes = 0; $minage = 1e9; $maxage = 0;
my $sel = IO::Select->new;
sub open_one {
	my ($addr) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
	    PeerPort => $port, LocalAddr => $addr, Blocking => 0) or return;
	$c{fileno $s} = { s => $s, addr => $addr, t0 => time, off => 0,
	    next => time + rand(1) };
	$sel->add($s);
}
for my $a ($first .. $last) { open_one("127.0.0.$a") for 1 .. $per; }
open(my $f, ">", "$out.up") or die; close $f;
my $end = time + $secs;
while (time < $end) {
	for my $s ($sel->can_read(0.05)) {
		my $st = $c{fileno $s};
		my $n = sysread($s, my $buf, 4096);
		next if !defined $n && $!{EAGAIN};
		# EOF, a reset, or an answer (then it is closed anyway): the
		# server is done with it. Count it and come back at once.
		$closes++;
		my $age = (time - $st->{t0}) * 1000;
		$maxage = $age if $age > $maxage;
		$minage = $age if $age < $minage;
		$sel->remove($s);
		delete $c{fileno $s};
		close $s;
		open_one($st->{addr});
	}
	for my $st (values %c) {
		next if time < $st->{next};
		my $n = syswrite($st->{s}, substr($req, $st->{off}, 1));
		$st->{off}++ if $n;
		$st->{next} = time + 2 + rand(2);
	}
}
open($f, ">", $out) or die;
printf $f "%d %d %d %d\n", $closes, $minage, $maxage, scalar(keys %c);
close $f;
EOF
trickle() {
	perl "$T/trickle.pl" "$PORT" "$@" &
	TRICKLE=$!
	HQ_BG+=("$TRICKLE")
}

# 1. Below every limit: the deadline alone closes each one at 5 s.
trickle 7 5 2 7 "$T/few"
hq_wait 10 "30 trickling clients" test -e "$T/few.up"
hq_wait 20 "the first trickle to end" test -s "$T/few"
read -r closes minage maxage open <"$T/few"
note "30 trickling connections: $closes closed by hqd, after $minage to $maxage ms"
assert_eq "$closes" 30 "trickling connections closed within 7 s"
[ "$minage" -ge 4500 ] && [ "$maxage" -le 6500 ] ||
    fail "trickling connections closed after $minage to $maxage ms, not at 5 s"
wait "$TRICKLE" || true

# cpu_ticks: the supervisor's user + system time, in clock ticks.
cpu_ticks() {
	local st
	st=$(cat "/proc/$HQ_PID/stat")
	st=${st##*) }
	# shellcheck disable=SC2086
	set -- $st
	echo $((${12} + ${13}))
}

# 2. 200 of them, the table full: the probes still get through, and
# entries are applied meanwhile.
ticks0=$(cpu_ticks)
trickle 16 25 2 9 "$T/trickle"
hq_wait 10 "200 trickling clients" test -e "$T/trickle.up"
sleep 1
held=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
note "connections hqd holds with 200 trickling clients: $held"
[ "$held" -ge 100 ] || fail "only $held connections held: is the trickle running?"

# probe PATH [curl args]: the status within 1 s; its time in ms in $T/ms.
probe() {
	local path=$1 code t0
	shift
	t0=$(date +%s%N)
	code=$(curl -sS --max-time 1 -o /dev/null -w '%{http_code}' "$@" \
	    "$URL$path" 2>/dev/null) || code="timeout"
	echo $((($(date +%s%N) - t0) / 1000000)) >"$T/ms"
	echo "$code"
}

# Five probes of each kind over 12 s: inside the first deadline and after
# the server has started closing trickling connections.
hq_gen 500 t
hq_publish
ok=0
slow=0
for i in 1 2 3 4 5; do
	for how in "/healthz" "/readyz" "/healthz --interface 127.0.0.5"; do
		# shellcheck disable=SC2086
		code=$(probe $how)
		ms=$(cat "$T/ms")
		[ "$ms" -gt "$slow" ] && slow=$ms
		if [ "$code" = 200 ]; then
			ok=$((ok + 1))
		else
			echo "# probe $how: $code after $ms ms" >&2
		fi
	done
	sleep 2.4
done
note "probes answered with 200 trickling clients: $ok of 15, slowest $slow ms"
assert_eq "$ok" 15 "probes answered within 1 s"

hq_wait_sql 10 "SELECT count(*) FROM t" 500
hq_wait 20 "the trickle to end" test -s "$T/trickle"
note "supervisor CPU during the 16 s of trickle: $((($(cpu_ticks) - ticks0) * 1000 / $(getconf CLK_TCK))) ms"
read -r closes minage maxage open <"$T/trickle"
note "trickling connections closed by hqd: $closes, after $minage to $maxage ms ($open open at the end)"
[ "$closes" -ge 200 ] || fail "only $closes trickling connections were closed in 16 s"
[ "$maxage" -le 6500 ] || fail "a trickling connection lived $maxage ms"
wait "$TRICKLE" || true
hq_wait 20 "the trickle's sockets to close" sh -c \
    "[ \$(ss -Htn state established '( sport = :$PORT )' | wc -l) -eq 0 ]"

# 3. One address, 60 idle connections: hqd keeps at most 32 of them, and a
# probe from that address pushes out the oldest instead of waiting.
perl -MIO::Socket::INET -e '
	my @s;
	for (1 .. 60) {
		push @s, IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $ARGV[0], LocalAddr => "127.0.0.7") or die "$!";
	}
	open(my $f, ">", $ARGV[1]) or die; close $f;
	sleep 4;' "$PORT" "$T/idle.up" &
IDLE=$!
HQ_BG+=("$IDLE")
hq_wait 10 "60 idle connections" test -e "$T/idle.up"
sleep 0.5
held=$(ss -Htn state established "( sport = :$PORT and dst 127.0.0.7 )" | wc -l)
note "connections hqd holds from one address of 60: $held"
[ "$held" -le 32 ] || fail "hqd holds $held connections from one address"
code=$(probe /healthz --interface 127.0.0.7)
assert_eq "$code" 200 "a probe from an address at its limit"
wait "$IDLE" || true

# 4. /events streams take half the table at most: of 70 from three
# addresses, 64 stream and 6 are told 503.
perl -MIO::Socket::INET -e '
	my (@s, %n);
	for my $i (0 .. 69) {
		my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		    PeerPort => $ARGV[0], LocalAddr => "127.0.0." . (11 + $i % 3))
		    or die "$!";
		$s->send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
		push @s, $s;
	}
	for my $s (@s) {
		$s->timeout(5);
		my $line = <$s> // "none";
		$n{(split / /, $line)[1] // "none"}++;
	}
	open(my $f, ">", $ARGV[1]) or die;
	print $f join(" ", map { "$_=$n{$_}" } sort keys %n), "\n";' \
    "$PORT" "$T/streams"
assert_eq "$(cat "$T/streams")" "200=64 503=6" "/events answers of 70"
hq_wait 10 "a warning about clients shut out" grep -q 'http: connection table or a client address full' "$LOG"
assert_eq "$(hq_log_count 'http: connection table or a client address full')" 1 \
    "lines about clients shut out (one a minute)"
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"
