# SPDX-License-Identifier: MIT
# lib_3xx.sh: helpers of the e2e tests 300-399 (hqctl, the heartbeat, the
# stats segment, the shell library). Sourced after lib.sh, whose EXIT trap
# it wraps: t3_cleanup stops what these tests start (hqd gently, so that it
# unlinks its segment; anything in T3_PIDS; segments in T3_SEGS) and then
# runs lib.sh's hq_cleanup. Kept apart from lib.sh, which the tests 020-199
# extend at the same time. Needs perl with JSON::PP (Debian's perl).

: "${HQCTL:?HQCTL must point at the hqctl binary}"

# Processes to kill and shm segments to unlink on exit.
T3_PIDS=()
T3_SEGS=()

t3_cleanup() {
	local rc=$? p s i
	set +e
	# hqd of hq_start: TERM, so that it removes its segment.
	if [ -n "${HQ_PID:-}" ] && ! hq_gone "$HQ_PID"; then
		kill -CONT "$HQ_PID" 2>/dev/null || true
		kill -TERM "$HQ_PID" 2>/dev/null || true
		for i in $(seq 1 100); do
			hq_gone "$HQ_PID" && break
			sleep 0.05
		done
	fi
	for p in "${T3_PIDS[@]}"; do
		[ -n "$p" ] && ! hq_gone "$p" && kill -KILL "$p" 2>/dev/null
	done
	for s in "${T3_SEGS[@]}"; do
		[ -n "$s" ] && rm -f "/dev/shm/${s#/}"
	done
	(exit "$rc")
	hq_cleanup
}
trap t3_cleanup EXIT

# t3_run CMD [ARGS...]: run CMD, stdout in $T/out, stderr in $T/err, exit
# status in T3_RC. Never fails the test itself.
t3_run() {
	T3_RC=0
	"$@" >"$T/out" 2>"$T/err" || T3_RC=$?
}

# t3_assert_match STRING ERE WHAT: lib.sh's assert_match without its pipe
# (printf | grep -q under pipefail fails when grep exits first and printf
# is killed by SIGPIPE).
t3_assert_match() {
	grep -q -E -- "$2" <<<"$1" || fail "$3: '$1' does not match /$2/"
}

# t3_ctl ARGS...: hqctl on this test's root.
t3_ctl() {
	"$HQCTL" --root "$ROOT" "$@"
}

# t3_seg_name DIR: the segment name hqd derives for the queue root DIR:
# "/hq-" and the 64-bit FNV-1a hash of its real path, in hex.
t3_seg_name() {
	perl -MMath::BigInt -MCwd=realpath -e '
		my $h = Math::BigInt->from_hex("cbf29ce484222325");
		my $m = Math::BigInt->new(2)->bpow(64);
		for my $c (unpack("C*", realpath($ARGV[0]))) {
			$h = ($h->bxor($c) * 1099511628211) % $m;
		}
		my $x = substr($h->as_hex(), 2);
		printf "/hq-%016s\n", $x;' "$1" | tr ' ' 0
}

# t3_json FILE EXPR: decode FILE strictly (one JSON document) and print the
# perl expression EXPR over it ($j; booleans print as 1 and 0; undef as
# "undef"). Exits non-zero, saying why, when FILE is not JSON.
t3_json() {
	perl -MJSON::PP -e '
		my ($file, $expr) = @ARGV;
		open(my $f, "<", $file) or die "t3_json: $file: $!\n";
		my $text = do { local $/; <$f> };
		my $j = eval { JSON::PP->new->utf8->decode($text) };
		die "t3_json: $file is not JSON: $@" unless defined $j;
		my $v = eval $expr;
		die "t3_json: $expr: $@" if $@;
		$v = "undef" unless defined $v;
		$v = $v ? 1 : 0 if JSON::PP::is_bool($v);
		print "$v\n";' "$1" "$2"
}

# t3_json_is FILE EXPR WANT: t3_json prints WANT, or the test fails.
t3_json_is() {
	local got
	got=$(t3_json "$1" "$2") || fail "$1: not JSON"
	[ "$got" = "$3" ] || fail "$(basename "$1") $2: got '$got', want '$3'"
}

# t3_old_keys FILE: the old worker's heartbeat keys are all there, at the
# top level, with the old types (docs/stats.md): integers, a mode string and a
# boolean; the new counts are integers too.
t3_old_keys() {
	perl -e '
		my $file = shift;
		open(my $f, "<", $file) or die "$file: $!\n";
		my $t = do { local $/; <$f> };
		my $bad = 0;
		for my $k (qw(timestamp pid iteration events_processed
		    last_event_time idle_seconds queue_size processing_count
		    watcher_pid watcher_restarts schema_version entries_applied
		    entries_failed entries_retried entries_duplicate
		    oldest_pending_age_seconds)) {
			next if $t =~ /"$k":[0-9]+[,}]/;
			print STDERR "$file: \"$k\" is not an integer\n";
			$bad++;
		}
		if ($t !~ /"mode":"(event-loop|polling)"[,}]/) {
			print STDERR "$file: \"mode\" is not event-loop|polling\n";
			$bad++;
		}
		if ($t !~ /"watcher_alive":(true|false)[,}]/) {
			print STDERR "$file: \"watcher_alive\" is not a boolean\n";
			$bad++;
		}
		exit($bad ? 1 : 0);' "$1" || fail "$(basename "$1"): old keys"
}

# t3_prom_check FILE: the Prometheus text exposition format, line by line:
# every line a "# HELP name text", "# TYPE name type" or a sample
# "name{labels} value"; HELP and TYPE of a family before its samples, its
# samples together; counters end in _total; histogram buckets with rising
# le, cumulative, ending in +Inf equal to _count.
t3_prom_check() {
	perl -e '
		my $file = shift;
		open(my $f, "<", $file) or die "$file: $!\n";
		my ($bad, $cur, %fam, %series, $n) = (0);
		my $name = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
		my $num = qr/(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]Inf|NaN)/;
		sub bad { print STDERR "prometheus line $.: $_[0]: $_[1]\n"; $bad++ }
		while (my $l = <$f>) {
			$n++;
			bad("no newline", $l) unless $l =~ s/\n\z//;
			if ($l =~ /^# (HELP|TYPE) ($name) (.+)$/) {
				my ($kw, $m, $rest) = ($1, $2, $3);
				if (!defined $cur || $cur ne $m) {
					bad("family declared twice", $l) if $fam{$m};
					$cur = $m;
					$fam{$m} = { samples => 0, le => -9**9**9, run => 0 };
				}
				my $F = $fam{$m};
				bad("$kw after samples", $l) if $F->{samples};
				bad("$kw repeated", $l) if $F->{$kw}++;
				if ($kw eq "TYPE") {
					bad("type", $l) unless $rest =~ /^(counter|gauge|histogram)$/;
					$F->{type} = $rest;
					bad("counter without _total", $l)
					    if $rest eq "counter" && $m !~ /_total$/;
				}
				next;
			}
			if ($l !~ /^($name)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})? ($num)$/) {
				bad("not a sample", $l);
				next;
			}
			my ($s, $labels, $v) = ($1, $2 // "", $3);
			bad("series repeated", $l) if $series{"$s$labels"}++;
			my $F = defined $cur ? $fam{$cur} : undef;
			if (!$F || !$F->{HELP} || !$F->{TYPE}) {
				bad("sample before HELP and TYPE", $l);
				next;
			}
			$F->{samples}++;
			if ($F->{type} eq "histogram") {
				if ($s eq "${cur}_bucket") {
					my ($le) = $labels =~ /le="([^"]*)"/;
					if (!defined $le) { bad("bucket without le", $l); next }
					my $lev = $le eq "+Inf" ? 9**9**9 : $le;
					bad("le not rising", $l) unless $lev > $F->{le};
					bad("buckets not cumulative", $l) if $v < $F->{run};
					($F->{le}, $F->{run}) = ($lev, $v);
					$F->{inf} = $v if $le eq "+Inf";
				} elsif ($s eq "${cur}_sum") {
					$F->{sum} = 1;
				} elsif ($s eq "${cur}_count") {
					bad("_count != +Inf bucket", $l)
					    unless defined $F->{inf} && $F->{inf} == $v;
					$F->{count} = 1;
				} else {
					bad("sample of another family than $cur", $l);
				}
			} else {
				bad("sample of another family than $cur", $l) if $s ne $cur;
				bad("le outside a histogram", $l) if $labels =~ /\ble="/;
			}
		}
		bad("empty", "") unless $n;
		for my $m (sort keys %fam) {
			my $F = $fam{$m};
			bad("family without samples", $m) unless $F->{samples};
			bad("histogram incomplete", $m) if ($F->{type} // "") eq
			    "histogram" && !($F->{sum} && $F->{count} && defined $F->{inf});
		}
		exit($bad ? 1 : 0);' "$1" || fail "$(basename "$1"): not the Prometheus text format"
}

# t3_prom FILE SERIES: the value of SERIES (name and labels as printed).
t3_prom() {
	perl -ne 'BEGIN { $s = shift } if (substr($_, 0, length($s) + 1) eq "$s ") {
		chomp; print substr($_, length($s) + 1), "\n"; exit }' "$2" "$1"
}

# t3_hb_file: the heartbeat of this test's root.
t3_hb() {
	printf '%s/.heartbeat' "$ROOT"
}

# t3_stats_json OUTFILE: hqctl stats --json into OUTFILE; its status into
# T3_RC.
t3_stats_json() {
	T3_RC=0
	t3_ctl stats --json >"$1" 2>"$T/stats.err" || T3_RC=$?
}

# t3__json_has FILE EXPR WANT: like t3_json_is, but a predicate for hq_wait.
t3__json_has() {
	[ -s "$1" ] && [ "$(t3_json "$1" "$2" 2>/dev/null)" = "$3" ]
}

# t3__stats_has EXPR WANT: hqctl stats --json shows it now.
t3__stats_has() {
	t3_stats_json "$T/st.json"
	t3__json_has "$T/st.json" "$1" "$2"
}

# t3_nothing_in DIR...: no file (hidden ones too) under $ROOT/DIR.
t3_nothing_in() {
	local d left
	for d in "$@"; do
		left=$(find "$ROOT/$d" -mindepth 1 ! -type d 2>/dev/null)
		[ -z "$left" ] || fail "left behind in $d/: $left"
	done
}

# Soft checks: t3_check* record a failure and go on, so that one run shows
# every difference; t3_done fails the test if any was recorded.
T3_FAILS=()

t3_check() {	# t3_check WHAT CMD [ARGS...]
	local what=$1
	shift
	if ! "$@"; then
		echo "CHECK FAILED: $what" >&2
		T3_FAILS+=("$what")
	fi
}

t3_check_eq() {	# t3_check_eq GOT WANT WHAT
	if [ "$1" != "$2" ]; then
		echo "CHECK FAILED: $3: got '$1', want '$2'" >&2
		T3_FAILS+=("$3")
	fi
}

t3_check_match() {	# t3_check_match STRING ERE WHAT
	if ! grep -q -E -- "$2" <<<"$1"; then
		echo "CHECK FAILED: $3: '$1' does not match /$2/" >&2
		T3_FAILS+=("$3")
	fi
}

t3_check_json() {	# t3_check_json FILE EXPR WANT
	local got
	got=$(t3_json "$1" "$2" 2>&1) || got="(not JSON: $got)"
	t3_check_eq "$got" "$3" "$(basename "$1") $2"
}

t3_done() {
	if [ ${#T3_FAILS[@]} -gt 0 ]; then
		fail "${#T3_FAILS[@]} check(s) failed: $(printf '[%s] ' "${T3_FAILS[@]}")"
	fi
}

# --- the shell library's tests (350-359) ------------------------------------
# They let the library start hqd itself (as hooks do), so its pid is not
# HQ_PID: t3_lib_trap makes t3_lib_cleanup the EXIT trap, which stops
# every hqd on $ROOT, then runs t3_cleanup.

# t3_lib_hqd: pids of hqd supervisors on this root (argv has --root
# $ROOT; workers are "hqd -W ..."), zombies aside.
t3_lib_hqd() {
	local p
	for p in $(perl -e '
		my $root = shift;
		opendir(my $d, "/proc") or die;
		for my $pid (grep { /^\d+$/ } readdir $d) {
			open(my $f, "<", "/proc/$pid/cmdline") or next;
			my @a = split /\0/, do { local $/; <$f> };
			for my $i (0 .. $#a - 1) {
				if ($a[$i] eq "--root" && $a[$i + 1] eq $root) {
					print "$pid\n";
					last;
				}
			}
		}' "$ROOT"); do
		hq_gone "$p" || echo "$p"
	done
}
t3_lib_cleanup() {
	local rc=$? p
	set +e
	for p in $(t3_lib_hqd); do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $(seq 1 100); do
		[ -z "$(t3_lib_hqd)" ] && break
		sleep 0.05
	done
	for p in $(t3_lib_hqd); do
		kill -KILL "$p" 2>/dev/null
	done
	(exit "$rc")
	t3_cleanup
}

t3_lib_trap() {
	trap t3_lib_cleanup EXIT
}

# t3_lib FUNCTION [ARGS...]: a fresh bash (a hook) sources the library
# under `set -u` and calls FUNCTION; its status is the call's.
t3_lib() {
	bash -uc 'source "$HQ_QUEUE_LIB"; "$@"' lib "$@"
}
