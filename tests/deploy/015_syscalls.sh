#!/usr/bin/env bash
# hqd.service's SystemCallFilter= and RestrictAddressFamilies= keep hq
# working: every system call hqd and its workers make in a busy life
# (start, --group, notify socket, --http with a few requests, entries
# applied and failed, a worker killed and respawned, HUP, USR1, TERM
# drain), recorded by strace, is in the set the unit allows (as
# systemd-analyze expands it), and every socket is of a family the unit's
# RestrictAddressFamilies= allows.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"
need strace systemd-analyze
# Once opt-in: a traced run hung once in three on a loaded machine. Likely
# causes since fixed: hqd's blocking sendto() on NOTIFY_SOCKET (now
# non-blocking) and a CREATE/INSERT race in the workload below (now
# ordered); 10 runs under load passed. HQ_DEPLOY_STRACE=0 skips it.
[ "${HQ_DEPLOY_STRACE:-1}" = 1 ] || skip "HQ_DEPLOY_STRACE=0"
# The sanitizers' runtimes make calls of their own (and are never deployed).
if hq_sanitized "$HQD"; then
	skip "sanitizer build"
fi
U=$SRC/deploy/systemd/hqd.service

# expand SET: the system calls of a name or @group, recursively.
expand() {
	systemd-analyze syscall-filter "$1" 2>/dev/null |
	    awk 'NR > 1 && !/^ *#/ && NF { print $1 }' |
	    while read -r x; do
		case $x in
		@*) expand "$x" ;;
		*) echo "$x" ;;
		esac
	    done
}
: >"$D_T/allow"
: >"$D_T/deny"
while read -r line; do
	v=${line#SystemCallFilter=}
	out=$D_T/allow
	case $v in "~"*) out=$D_T/deny; v=${v#\~} ;; esac
	for set in $v; do
		expand "$set" >>"$out"
	done
done < <(grep '^SystemCallFilter=' "$U")
[ -s "$D_T/allow" ] || fail "no SystemCallFilter allow list in the unit"
sort -u "$D_T/allow" -o "$D_T/allow"
sort -u "$D_T/deny" -o "$D_T/deny"
comm -23 "$D_T/allow" "$D_T/deny" >"$D_T/allowed"

# strace must be able to trace here (no ptrace in some sandboxes).
strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here"

SOCK=$T/notify.sock
perl "$(dirname "$0")/notify_listen.pl" "$SOCK" "$T/notify.log" >"$T/listen.out" &
HQ_BG+=($!)
hq_wait 10 "the listener" grep -q listening "$T/listen.out"

: >>"$LOG"
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=1000000 strace -f -qq -o "$T/trace" \
    "$HQD" --root "$ROOT" --db "$DB" --group "$(id -gn)" \
    --log-file "$T/hqd-file.log" --heartbeat-interval 0.3 \
    --http 127.0.0.1:0 2>>"$LOG" &
STRACE_PID=$!
HQ_BG+=("$STRACE_PID")
hq__hqd_up() {
	HQ_PID=$(pgrep -P "$STRACE_PID" -x hqd || true)
	[ -n "$HQ_PID" ] && grep -q ': started: ' "$T/hqd-file.log" 2>/dev/null
}
hq_wait 20 "hqd under strace" hq__hqd_up
hq_wait 20 "READY=1" grep -q READY=1 "$T/notify.log"
# A few requests (bash's /dev/tcp: HTTP/1.0, the server closes).
port=$(sed -n 's|.*http: serving on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$T/hqd-file.log")
[ -n "$port" ] || fail "hqd logged no 'http: serving on' line"
http_get() {
	local r
	exec 5<>"/dev/tcp/127.0.0.1/$port"
	printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&5
	r=$(timeout 10 cat <&5) || true
	exec 5<&-
	assert_match "$(head -n 1 <<<"$r")" '^HTTP/1\.[01] 200' "GET $1"
}
for path in /metrics /healthz /readyz /stats.json; do
	http_get "$path"
done

hq_drop 5_1.json '{"sql":"CREATE TABLE t(v)"}'
# The table first: two workers could take both entries at once.
hq_wait_sql 20 "SELECT count(*) FROM sqlite_master WHERE name = 't'" 1
hq_drop 5_2.json '{"sql":"INSERT INTO t VALUES (?)","params":[1]}'
hq_drop 5_3.json '{"sql":"INSERT INTO nope VALUES (1)"}'
printf '\x81\xa3sql\xb0CREATE TABLE u(v)' >"$ROOT/.tmp/4_1.msgpack"
mv "$ROOT/.tmp/4_1.msgpack" "$ROOT/pending/4_1.msgpack"
hq_wait_sql 20 "SELECT count(*) FROM t" 1
hq_wait 20 "the bad entry in failed/" test -e "$ROOT/failed/5_3.json.err"
victim=$(hq_live_workers | sed -n 1p)
kill -KILL "$victim"
hq__respawned() {
	[ "$(hq_live_workers | grep -cvx "$victim")" -ge 2 ]
}
hq_wait 20 "the worker respawned" hq__respawned
kill -HUP "$HQ_PID"
kill -USR1 "$HQ_PID"
hq_drop 5_4.json '{"sql":"INSERT INTO t VALUES (2)"}'
hq_wait_sql 20 "SELECT count(*) FROM t" 2
sleep 0.5
kill -TERM "$HQ_PID"
rc=0
# Bounded: a traced drain that never ends must fail with its log, not hang.
hq__strace_gone() { ! kill -0 "$STRACE_PID" 2>/dev/null; }
hq_wait 60 "hqd to exit under strace" hq__strace_gone
wait "$STRACE_PID" || rc=$?
HQ_PID=
assert_eq "$rc" 0 "hqd's exit status under strace"

# The calls made, by name (strace -f lines: "PID name(args...) = ...").
awk '{
	s = $2
	if (s == "<..." ) next
	sub(/\(.*/, "", s)
	if (s ~ /^[a-z_0-9]+$/) print s
}' "$T/trace" | sort -u >"$D_T/used"
[ "$(wc -l <"$D_T/used")" -gt 30 ] || fail "too few system calls traced"
missing=$(comm -23 "$D_T/used" "$D_T/allowed" | tr '\n' ' ')
[ -z "$missing" ] || fail "system calls outside the unit's SystemCallFilter: $missing"

# Sockets: only families the unit's RestrictAddressFamilies= lists.
allowed_af=" $(sed -n 's/^RestrictAddressFamilies=//p' "$U" | tr '\n' ' ') "
families=$(grep -oE '(socket|socketpair)\(AF_[A-Z0-9]+' "$T/trace" |
    sed 's/.*(//' | sort -u | tr '\n' ' ')
for af in $families; do
	case $allowed_af in
	*" $af "*) ;;
	*) fail "socket family $af outside the unit's RestrictAddressFamilies=$allowed_af" ;;
	esac
done
case $families in *AF_INET*) ;; *) fail "no AF_INET socket traced: did --http run?" ;; esac
note "ok: $(wc -l <"$D_T/used") distinct system calls, all allowed"
