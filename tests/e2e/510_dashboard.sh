#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium, driven over its
# DevTools pipe (--remote-debugging-pipe: JSON on fds 3 and 4; perl is the
# client, no WebSocket library, no npm), loads hqd's "/" while a workload
# runs (a producer at a steady rate, and a database lock taken for 2 s or
# so every 4, so that a backlog builds up and drains). Checked: documents
# arrive (body[data-updates]); the headline numbers lie between two
# /stats.json read around them; one row per worker with hqd's worker pids;
# the pixels of each chart canvas hold the colours of their series (queue
# depth of the priorities written, applied and failed per second, latency
# p50 and p99), the charts scroll, and the screenshot the test takes shows
# the same colours inside each chart's box. Then hqd is stopped (SIGSTOP:
# a silent stream): within seconds the page says "hqd unreachable since
# HH:MM:SS", greys the charts and they stop moving; SIGCONT: live again.
# hqd is killed (SIGKILL): the banner again; a new hqd on the same port:
# the page reconnects by itself and marks the restart. No page exception.
# DASHBOARD_SCREENSHOT=FILE keeps the screenshot (taken after a longer
# run: docs/dashboard.png is made this way). CHROMIUM=path overrides the
# browser (default: chromium on $PATH).

# Before lib.sh, which makes a temporary tree and reports a failure on
# any non-zero exit.
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
	echo "chromium not installed: skipped"
	exit 77
fi
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
perl -MJSON::PP -MMIME::Base64 -e 1 2>/dev/null ||
    { echo "perl JSON::PP missing: skipped"; exit 77; }

. "$(dirname "$0")/lib.sh"

SHM=/hq-e2e510-$$
DASH_WORKERS=()
CDP_PID=

dash_cleanup() {
	local rc=$? p
	set +e
	: >"$T/stop"
	[ -n "$HQ_PID" ] && kill -CONT "$HQ_PID" 2>/dev/null
	if [ -n "$CDP_PID" ]; then
		# The driver kills the browser's process group on TERM; and the
		# group again here, in case the driver itself is gone.
		kill -TERM "$CDP_PID" 2>/dev/null
		wait "$CDP_PID" 2>/dev/null
	fi
	p=$(cat "$T/chromium.pid" 2>/dev/null)
	[ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null
	rm -rf "$T/profile" "$T/browser-tmp"
	if [ "$rc" -ne 0 ]; then
		echo "--- browser log (tail):" >&2
		grep -v -i -E 'dbus|gcm|Fontconfig' "$T/chromium.log" 2>/dev/null |
		    tail -n 20 >&2
	fi
	(exit "$rc")
	hq_cleanup
	# Workers of a killed hqd (they exit by themselves once they see
	# it gone), and its segment.
	for p in "${DASH_WORKERS[@]}"; do
		hq_gone "$p" || kill -KILL "$p" 2>/dev/null
	done
	rm -f "/dev/shm$SHM"
}
trap dash_cleanup EXIT

# --- the DevTools driver ---------------------------------------------------
# cdp.pl CHROMIUM PROFILE LOG PIDFILE [FLAGS...]: starts the browser in its
# own process group and answers commands read on stdin, one a line, with
# one line "ok JSON" or "err WHY": open URL | eval JS | evalfile FILE |
# shot FILE | errors (page exceptions so far) | quit.
cat >"$T/cdp.pl" <<'EOF'
use strict; use warnings;
use Fcntl; use POSIX (); use IO::Handle; use JSON::PP; use MIME::Base64;
use Time::HiRes qw(time);
my ($chromium, $profile, $log, $pidfile, @flags) = @ARGV;
$| = 1;
my $json = JSON::PP->new->utf8->canonical->allow_nonref;
pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
pipe(my $res_r, my $res_w) or die "pipe: $!";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	POSIX::setpgid(0, 0);
	close $cmd_w; close $res_r;
	# Above 4 first, so that dup2 never lands on itself (which would
	# keep close-on-exec).
	my $r = fcntl($cmd_r, F_DUPFD, 10) or POSIX::_exit(126);
	my $w = fcntl($res_w, F_DUPFD, 10) or POSIX::_exit(126);
	POSIX::dup2($r, 3) // POSIX::_exit(126);
	POSIX::dup2($w, 4) // POSIX::_exit(126);
	open(STDIN, "<", "/dev/null");
	open(STDOUT, ">>", $log);
	open(STDERR, ">>", $log);
	exec($chromium, "--headless", "--remote-debugging-pipe",
	    "--user-data-dir=$profile", "--no-first-run",
	    "--no-default-browser-check", "--disable-gpu",
	    "--disable-extensions", "--disable-background-networking",
	    "--disable-component-update", "--disable-sync",
	    "--disable-background-timer-throttling",
	    "--disable-renderer-backgrounding",
	    "--disable-backgrounding-occluded-windows",
	    "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
	    "--force-color-profile=srgb", "--window-size=1366,768", @flags,
	    "about:blank") or POSIX::_exit(127);
}
close $cmd_r; close $res_w;
$cmd_w->autoflush(1);
if (open(my $pf, ">", $pidfile)) { print $pf "$pid\n"; close $pf; }
my $stop = sub { kill("KILL", -$pid); waitpid($pid, 0); };
$SIG{TERM} = $SIG{INT} = $SIG{HUP} = sub { $stop->(); POSIX::_exit(1); };
$SIG{PIPE} = "IGNORE";
open(my $lf, ">>", $log) or die "$log: $!";
$lf->autoflush(1);

my ($id, $buf, @exceptions, $session) = (0, "");
# call METHOD PARAMS [SESSION [TIMEOUT]]: the result, or dies with the
# error. Events met while waiting are logged (console, exceptions).
sub call {
	my ($method, $params, $sess, $timeout) = @_;
	my $n = ++$id;
	my $m = { id => $n, method => $method, params => $params };
	$m->{sessionId} = $sess if $sess;
	print $cmd_w $json->encode($m), "\0" or die "write to chromium: $!\n";
	my $deadline = time() + ($timeout // 30);
	for (;;) {
		while ((my $i = index($buf, "\0")) >= 0) {
			my $msg = $json->decode(substr($buf, 0, $i));
			substr($buf, 0, $i + 1) = "";
			if (!defined $msg->{id}) {
				my $e = $msg->{method} // "";
				my $p = $msg->{params};
				if ($e eq "Runtime.exceptionThrown") {
					my $d = $p->{exceptionDetails};
					my $t = ($d->{exception}{description} // $d->{text}) .
					    " (line " . ($d->{lineNumber} // "?") . ")";
					push @exceptions, $t;
					print $lf "page exception: $t\n";
				} elsif ($e eq "Runtime.consoleAPICalled") {
					print $lf "console.$p->{type}: ", join(" ",
					    map { $_->{value} // $_->{description} // "" }
					    @{$p->{args}}), "\n";
				}
				next;
			}
			next if $msg->{id} != $n;
			die "$method: $msg->{error}{message}\n" if $msg->{error};
			return $msg->{result};
		}
		my $left = $deadline - time();
		die "$method: no answer in time\n" if $left <= 0;
		my $rin = "";
		vec($rin, fileno($res_r), 1) = 1;
		next if select(my $rout = $rin, undef, undef, $left) <= 0;
		sysread($res_r, $buf, 1 << 20, length($buf)) or
		    die "chromium exited\n";
	}
}
sub evaluate {
	my $r = call("Runtime.evaluate", { expression => $_[0],
	    returnByValue => JSON::PP::true, awaitPromise => JSON::PP::true },
	    $session);
	if (my $x = $r->{exceptionDetails}) {
		die "eval: " . ($x->{exception}{description} // $x->{text}) . "\n";
	}
	return $r->{result}{value};
}

eval {
	# The first call also waits for the browser to come up.
	my $t = call("Target.createTarget", { url => "about:blank" }, undef, 90);
	$session = call("Target.attachToTarget", { targetId => $t->{targetId},
	    flatten => JSON::PP::true }, undef)->{sessionId};
	call("Emulation.setDeviceMetricsOverride", { width => 1366,
	    height => 768, deviceScaleFactor => 1, mobile => JSON::PP::false },
	    $session);
	call("Runtime.enable", {}, $session);
	call("Page.enable", {}, $session);
	1;
} or do {
	(my $e = $@) =~ s/\n/ /g;
	print "err start: $e\n";
	$stop->();
	exit 1;
};
print "ok \"ready\"\n";
while (my $line = <STDIN>) {
	chomp $line;
	my ($cmd, $arg) = split(/ /, $line, 2);
	if ($cmd eq "quit") {
		eval { call("Browser.close", {}, undef, 5) };
		print "ok null\n";
		last;
	}
	my $out = eval {
		if ($cmd eq "open") {
			my $r = call("Page.navigate", { url => $arg }, $session);
			die "open: $r->{errorText}\n" if $r->{errorText};
			"opened";
		} elsif ($cmd eq "eval") {
			evaluate($arg);
		} elsif ($cmd eq "evalfile") {
			open(my $f, "<", $arg) or die "$arg: $!\n";
			evaluate(do { local $/; <$f> });
		} elsif ($cmd eq "shot") {
			my $r = call("Page.captureScreenshot", { format => "png" },
			    $session);
			open(my $f, ">", $arg) or die "$arg: $!\n";
			binmode $f;
			print $f decode_base64($r->{data});
			close($f) or die "$arg: $!\n";
			-s $arg;
		} elsif ($cmd eq "errors") {
			[@exceptions];
		} else {
			die "unknown command '$cmd'\n";
		}
	};
	if (defined $out || !$@) {
		print "ok ", $json->encode($out), "\n";
	} else {
		(my $e = $@) =~ s/\n/ /g;
		print "err $e\n";
	}
}
$stop->();
EOF

# cdp CMD [ARG]: one driver command; its JSON answer lands in CDP_OUT.
cdp() {
	local line
	echo "$*" >&"${CDP[1]}"
	read -r -t 90 line <&"${CDP[0]}" || fail "browser driver: no answer to '${1}'"
	case $line in
	"ok "*) CDP_OUT=${line#ok } ;;
	*) fail "browser driver, '${*:0:80}': $line" ;;
	esac
}

# dash_wait SECONDS WHAT CMD...: poll CMD every 0.2 s (each poll is a
# round trip to the browser) until it succeeds.
dash_wait() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(date +%s) + secs))
	DASH_WHY=
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] ||
		    fail "timed out after ${secs}s waiting for $what${DASH_WHY:+ ($DASH_WHY)}"
		sleep 0.2
	done
}

# Helpers injected into the page: facts() (what the test reads off the
# DOM), count() (pixels of a chart canvas within 24 of one of the CSS
# colours named), hash() (a canvas's pixels), shot() (the same counts in a
# screenshot, inside the box of each chart).
cat >"$T/helpers.js" <<'EOF'
window.t510 = (function () {
	var $ = function (id) { return document.getElementById(id); };
	function rgb(name) {
		var s = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
		var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(s);
		if (!m) throw new Error('colour ' + name + ' is "' + s + '"');
		return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
	}
	function tally(d, names) {
		var cs = names.map(rgb), n = 0;
		for (var i = 0; i < d.length; i += 4) {
			if (d[i + 3] < 250) continue;
			for (var k = 0; k < cs.length; k++) {
				if (Math.abs(d[i] - cs[k][0]) <= 24 && Math.abs(d[i + 1] - cs[k][1]) <= 24 &&
				    Math.abs(d[i + 2] - cs[k][2]) <= 24) { n++; break; }
			}
		}
		return n;
	}
	function pixels(id) {
		var cv = $(id);
		return cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
	}
	var num = function (id) { return Number($(id).textContent.replace(/,/g, '')); };
	return {
		/* Shell assignments F_key='value' (quotes and backslashes
		 * dropped from the values); workers: "slot:state:pid ...". */
		facts: function () {
			var rows = Array.prototype.map.call(document.querySelectorAll('tr.worker-row'), function (r) {
				return r.getAttribute('data-slot') + ':' + r.getAttribute('data-state') + ':' +
				    (/pid (\d+)/.exec(r.textContent) || [0, 0])[1];
			});
			var b = $('banner'), f = {
				updates: Number(document.body.getAttribute('data-updates')),
				conn: document.body.getAttribute('data-conn'),
				queued: num('v-queued'), processing: num('v-processing'),
				applied: num('v-applied'), failed: num('v-failed'),
				rate: $('v-rate').textContent, uptime: $('v-uptime').textContent,
				mode: $('v-mode').textContent, pid: num('v-pid'),
				banner: b.hidden ? '' : b.textContent, workers: rows.join(' '),
				filter: getComputedStyle($('chart-rate')).filter,
				restarts: window.hqDashboard.samples.filter(function (s) { return s.restart; }).length
			};
			return Object.keys(f).map(function (k) {
				return 'F_' + k + "='" + String(f[k]).replace(/["'\\]/g, '') + "'";
			}).join(' ');
		},
		count: function (id, names) { return tally(pixels(id), names); },
		/* After two animation frames: whatever the page meant to
		 * draw by now is drawn. */
		hash: async function (id) {
			await new Promise(function (r) {
				requestAnimationFrame(function () { requestAnimationFrame(r); });
			});
			var d = pixels(id), h = 2166136261;
			for (var i = 0; i < d.length; i += 3) h = Math.imul(h ^ d[i], 16777619);
			return h >>> 0;
		},
		shot: async function (b64, specs) {
			var img = new Image();
			img.src = 'data:image/png;base64,' + b64;
			await img.decode();
			var cv = document.createElement('canvas');
			cv.width = img.naturalWidth;
			cv.height = img.naturalHeight;
			var c = cv.getContext('2d');
			c.drawImage(img, 0, 0);
			return specs.map(function (sp) {
				var r = $(sp[0]).getBoundingClientRect();
				return tally(c.getImageData(Math.round(r.left), Math.round(r.top),
				    Math.round(r.width), Math.round(r.height)).data, sp[1]);
			}).join(' ');
		}
	};
})();
'helpers';
EOF

# facts: what the page shows, into F_updates, F_conn, F_queued... (see
# t510.facts); no process forked.
facts() {
	cdp eval 't510.facts()'
	CDP_OUT=${CDP_OUT#\"}
	eval "${CDP_OUT%\"}"
}

# The series whose colours must show, and how many pixels at least: the
# priorities the producer writes in the depth chart, applied and failed per
# second, p50 and p99 of the latency.
DEPTH_COLOURS='["--c-p2","--c-p3","--c-p5","--c-p8"]'
dash__charts_drawn() {
	local d a f l50 l99
	cdp eval "t510.count('chart-depth', $DEPTH_COLOURS)"; d=$CDP_OUT
	cdp eval "t510.count('chart-rate', ['--c-applied'])"; a=$CDP_OUT
	cdp eval "t510.count('chart-rate', ['--c-failed'])"; f=$CDP_OUT
	cdp eval "t510.count('chart-latency', ['--c-p50'])"; l50=$CDP_OUT
	cdp eval "t510.count('chart-latency', ['--c-p99'])"; l99=$CDP_OUT
	DASH_WHY="pixels: depth $d, applied $a, failed $f, p50 $l50, p99 $l99"
	[ "$d" -ge 300 ] && [ "$a" -ge 60 ] && [ "$f" -ge 20 ] &&
	    [ "$l50" -ge 30 ] && [ "$l99" -ge 30 ]
}
dash__updates_ge() {
	facts
	DASH_WHY="$F_updates documents, connection $F_conn"
	[ "$F_updates" -ge "$1" ] && [ "$F_conn" = live ]
}
dash__conn_is() {
	facts
	DASH_WHY="connection $F_conn, banner '$F_banner'"
	[ "$F_conn" = "$1" ]
}
# stats FILE: hqd's own /stats.json.
stats() {
	curl -sS -f --max-time 10 -o "$1" "$URL/stats.json" ||
	    fail "GET /stats.json failed"
}
# sj FILE PERL-EXPR: a value of a JSON file.
sj() {
	perl -MJSON::PP -e 'local $/; open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!";
		my $j = decode_json(<$f>); print eval($ARGV[1]), "\n";' "$1" "$2"
}

# --- the workload -----------------------------------------------------------
hq_sql "CREATE TABLE t(v INTEGER)"
hq_start --workers 3 --batch-size 16 --heartbeat-interval 1 \
    --shm-name "$SHM" --http 127.0.0.1:0
hq_wait 10 "the http log line" grep -q 'http: serving on http://127.0.0.1:' "$LOG"
PORT=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$LOG" | head -1 | cut -d: -f3)
URL=http://127.0.0.1:$PORT
note "hqd pid $HQ_PID on $URL"
mapfile -t DASH_WORKERS < <(hq_live_workers)

# The producer: about 250 entries a second in the priorities 2, 3, 5 and
# 8, one in 40 with an SQL error (failed/s), until $T/stop exists; it
# counts what it published in $T/produced.
perl -e '
	use strict; use warnings; use Time::HiRes qw(sleep);
	my ($root, $t) = @ARGV;
	my @prio = (2, 5, 5, 8, 8, 3, 5, 8);
	my $i = 0;
	until (-e "$t/stop") {
		for (1 .. 25) {
			$i++;
			my $sql = $i % 40 ? "INSERT INTO t(v) VALUES (?)" :
			    "INSERT INTO nosuch(v) VALUES (?)";
			my $name = sprintf("%d_%d.json", $prio[$i % @prio], $i);
			open(my $f, ">", "$root/.tmp/$name") or die "$name: $!";
			print $f "{\"sql\":\"$sql\",\"params\":[$i]}";
			close($f) or die "$name: $!";
			rename("$root/.tmp/$name", "$root/pending/$name") or die "$name: $!";
		}
		open(my $c, ">", "$t/produced.tmp") or die; print $c "$i\n"; close $c;
		rename("$t/produced.tmp", "$t/produced");
		sleep 0.1;
	}' "$ROOT" "$T" &
HQ_BG+=($!)
# The lock: held 1.5 to 3 s, then free 1.5 to 2.5 s, so that the queue
# fills and drains (the workers wait in SQLite's busy handler: 5 s).
(
	hold=(2 1.5 3 2.5) free=(2 2.5 1.5 2) i=0
	until [ -e "$T/stop" ]; do
		"$DBQ" --hold "${hold[i % 4]}" "$DB" >/dev/null 2>&1 || true
		sleep "${free[i % 4]}"
		i=$((i + 1))
	done
) &
HQ_BG+=($!)

# --- the browser ------------------------------------------------------------
flags=()
[ "$(id -u)" -ne 0 ] || flags+=(--no-sandbox)
# Its own TMPDIR: a killed browser leaves its temporary folders behind.
mkdir -p "$T/browser-tmp"
coproc CDP { TMPDIR=$T/browser-tmp perl "$T/cdp.pl" "$CHROMIUM" \
    "$T/profile" "$T/chromium.log" "$T/chromium.pid" "${flags[@]}"; }
read -r -t 120 line <&"${CDP[0]}" || fail "the browser did not start"
[ "$line" = 'ok "ready"' ] || fail "the browser did not start: $line"
t0=$(date +%s%N)
cdp open "$URL/"
dash__script_ran() {
	cdp eval 'typeof window.hqDashboard === "object"'
	[ "$CDP_OUT" = true ]
}
dash_wait 30 "the page's script" dash__script_ran
cdp evalfile "$T/helpers.js"

# 1. Documents arrive; the charts fill with the colours of their series.
dash_wait 40 "4 documents" dash__updates_ge 4
dash_wait 40 "the charts to be drawn" dash__charts_drawn
note "$DASH_WHY"
note "first documents and charts in $((($(date +%s%N) - t0) / 1000000)) ms"

# 2. Numbers. The page catches up with a /stats.json read now (counters
# only grow, and a newer document comes each second), and is no further
# than one read after it; queued + processing + settled never exceed what
# was produced (the producer counts each 25 entries after publishing
# them); mode, pid, uptime.
stats "$T/s0.json"
read -r lo_a lo_f < <(sj "$T/s0.json" '"$j->{entries_applied} $j->{entries_failed}"')
dash__caught_up() {
	facts
	DASH_WHY="page at $F_applied applied, $F_failed failed"
	[ "$F_conn" = live ] && [ "$F_applied" -ge "$lo_a" ] && [ "$F_failed" -ge "$lo_f" ]
}
dash_wait 30 "the page to show $lo_a applied, $lo_f failed" dash__caught_up
produced=$(cat "$T/produced")
stats "$T/s1.json"
read -r hi_a hi_f < <(sj "$T/s1.json" '"$j->{entries_applied} $j->{entries_failed}"')
[ "$F_applied" -le "$hi_a" ] ||
    fail "page says $F_applied applied, hqd said $lo_a then $hi_a"
[ "$F_failed" -le "$hi_f" ] ||
    fail "page says $F_failed failed, hqd said $lo_f then $hi_f"
[ "$F_applied" -gt 0 ] || fail "page says 0 applied"
[ "$F_failed" -gt 0 ] || fail "page says 0 failed (one entry in 40 fails)"
sum=$((F_queued + F_processing + F_applied + F_failed))
[ "$sum" -le $((produced + 25)) ] ||
    fail "queued + processing + settled = $sum, but only $produced produced"
assert_eq "$F_mode" event-loop "mode on the page"
assert_eq "$F_pid" "$HQ_PID" "pid on the page"
assert_match "$F_uptime" '^[0-9]+ (s|m [0-9]{2} s)$' "uptime on the page"
assert_match "$F_rate" '^[0-9.,k]+$' "applied/s on the page"
assert_eq "$F_banner" "" "banner while hqd is up"
# One row per worker: slots 0 to 2, hqd's worker pids, a live state.
rows=()
for w in $F_workers; do
	IFS=: read -r slot state pid <<<"$w"
	case $state in idle | busy | starting) ;; *) fail "worker $slot: state '$state'" ;; esac
	rows+=("$slot:$pid")
done
assert_eq "$(printf '%s\n' "${rows[@]%%:*}" | tr '\n' ' ')" "0 1 2 " "worker rows (slots)"
assert_eq "$(printf '%s\n' "${rows[@]#*:}" | sort -n | tr '\n' ' ')" \
    "$(printf '%s\n' "${DASH_WORKERS[@]}" | sort -n | tr '\n' ' ')" \
    "worker pids on the page"
note "page: $F_queued queued, $F_processing processing, $F_applied applied, $F_failed failed, $F_rate/s; workers $F_workers"

# 3. The charts move while hqd is live.
cdp eval "t510.hash('chart-rate')"; h1=$CDP_OUT
dash__moved() {
	cdp eval "t510.hash('chart-rate')"
	[ "$CDP_OUT" != "$h1" ]
}
dash_wait 10 "the throughput chart to scroll" dash__moved

# 4. The screenshot: the same colours inside each chart's box. With
# DASHBOARD_SCREENSHOT, after a longer run, and kept there.
if [ -n "${DASHBOARD_SCREENSHOT:-}" ]; then
	dash_wait 60 "30 documents for the kept screenshot" dash__updates_ge 30
	# A second of draining after a lock: entries flow, latency shows.
	dash__draining() {
		facts
		[ "${F_rate//[^0-9]/}" -ge 200 ] 2>/dev/null
	}
	dash_wait 30 "a drain on the page for the kept screenshot" dash__draining
fi
cdp shot "$T/dashboard.png"
[ "$CDP_OUT" -gt 20000 ] || fail "screenshot of $CDP_OUT bytes"
{
	printf 't510.shot("'
	base64 -w0 "$T/dashboard.png"
	printf '", [["chart-depth", %s], ["chart-rate", ["--c-applied"]], ["chart-latency", ["--c-p50", "--c-p99"]]])\n' \
	    "$DEPTH_COLOURS"
} >"$T/shot.js"
cdp evalfile "$T/shot.js"
read -r sd sr sl <<<"${CDP_OUT//\"/}"
note "screenshot, pixels of the series: depth $sd, throughput $sr, latency $sl"
[ "$sd" -ge 300 ] && [ "$sr" -ge 60 ] && [ "$sl" -ge 60 ] ||
    fail "the screenshot does not show the charts' data: $CDP_OUT"
if [ -n "${DASHBOARD_SCREENSHOT:-}" ]; then
	cp "$T/dashboard.png" "$DASHBOARD_SCREENSHOT"
	note "screenshot kept in $DASHBOARD_SCREENSHOT"
fi

# 5. A silent stream (hqd stopped): the banner within seconds, the charts
# greyed and still; SIGCONT: live again, banner gone.
kill -STOP "$HQ_PID"
dash_wait 15 "the unreachable banner (hqd stopped)" dash__conn_is stale
assert_match "$F_banner" '^hqd unreachable since [0-2][0-9]:[0-5][0-9]:[0-5][0-9]' \
    "banner"
assert_match "$F_filter" 'grayscale' "charts greyed"
cdp eval "t510.hash('chart-rate')"; h1=$CDP_OUT
sleep 1.5
cdp eval "t510.hash('chart-rate')"
assert_eq "$CDP_OUT" "$h1" "throughput chart while hqd is unreachable"
note "stopped: $F_banner"
kill -CONT "$HQ_PID"
dash_wait 30 "the page live again after SIGCONT" dash__conn_is live
assert_eq "$F_banner" "" "banner once hqd is back"

# 6. hqd killed: the banner; a new hqd on the same port: the page
# reconnects by itself and marks the restart.
kill -KILL "$HQ_PID"
wait "$HQ_PID" 2>/dev/null || true
HQ_PID=
killed_at=$(date +%s)
dash_wait 15 "the unreachable banner (hqd killed)" dash__conn_is stale
assert_match "$F_banner" '^hqd unreachable since [0-2][0-9]:[0-5][0-9]:[0-5][0-9]' \
    "banner"
since=$(grep -o -E '[0-2][0-9]:[0-5][0-9]:[0-5][0-9]' <<<"$F_banner" | head -1)
d=$(( (killed_at - $(date -d "$since" +%s) + 86400 * 2) % 86400 ))
[ "$d" -le 5 ] || fail "banner says since $since, hqd was killed at $(date -d "@$killed_at" +%T)"
cdp shot "$T/unreachable.png"
note "killed: $F_banner"
for p in "${DASH_WORKERS[@]}"; do
	hq_wait 30 "worker $p to exit after hqd's death" hq_gone "$p"
done
hq_start --workers 3 --batch-size 16 --heartbeat-interval 1 \
    --shm-name "$SHM" --http "127.0.0.1:$PORT"
mapfile -t DASH_WORKERS < <(hq_live_workers)
dash_wait 30 "the page to reconnect to the new hqd" dash__conn_is live
dash__pid_is() {
	facts
	[ "$F_pid" = "$1" ]
}
dash_wait 10 "the new hqd's pid on the page" dash__pid_is "$HQ_PID"
[ "$F_restarts" -ge 1 ] || fail "the restart is not marked on the charts"
note "reconnected to hqd pid $HQ_PID"

cdp errors
assert_eq "$CDP_OUT" "[]" "page exceptions"
: >"$T/stop"
cdp quit
wait "$CDP_PID" 2>/dev/null || true
CDP_PID=
note "dashboard: live data, charts drawn, unreachable banner, reconnect ($((($(date +%s%N) - t0) / 1000000)) ms in the browser)"
