#!/usr/bin/env bash
# queue_db_write through hqenqueue.so, the shell library's bash builtin
# (issue 16: a hook's write costs no fork and no exec). Where the build
# has it (next to hqctl): a new bash that sources the library and writes
# once forks nothing and execs nothing but itself; the entry is the one
# hqctl writes (same keys, priority clamped, metadata kept, a priority
# that is no integer queued at 5 with a line in worker.log); an SQL over
# the 128 KiB an argument may hold goes through; a worker.log that cannot
# be opened (the builtin never runs) still queues the write once through
# hqctl; a broken root is the same exit status as hqctl's, so the old
# fallback (the direct write) follows; HQ_BASH_BUILTIN=false runs hqctl
# (one fork, one exec). Every write is applied exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"
: "${HQ_QUEUE_LIB:?HQ_QUEUE_LIB must point at hqctl/queue-lib.sh}"
SO=$(dirname "$HQCTL")/hqenqueue.so
if [ ! -f "$SO" ]; then
	echo "no hqenqueue.so beside hqctl (no bash headers, or a sanitizer build): skipped"
	exit 77
fi
command -v strace >/dev/null || { echo "no strace: skipped"; exit 77; }

hq_sql "CREATE TABLE w(k TEXT, v INTEGER)"
export QUEUE_BASE_DIR=$ROOT HIVE_DB=$DB HQD HQCTL
unset USE_QUEUE QUEUE_WORKER_LOG HQ_QUEUE_LIB_LOADED HQ_BASH_BUILTIN
t3_lib_trap
WLOG=$ROOT/worker.log

# The hook: a new bash, the library, one write. Its forks and execs.
hook() {	# hook TRACE SQL [OP PRIO META]
	strace -f -qq -e trace=fork,vfork,clone,clone3,execve -o "$1" \
	    bash -c '. "$1"; shift; queue_db_write "$@"' _ "$HQ_QUEUE_LIB" \
	    "${@:2}"
}
calls() {	# calls TRACE REGEX: how many
	grep -cE "$2" "$1" || true
}

hq_start
w() {	# w SQL [OP PRIO META]: a hook's write, untraced
	bash -c '. "$1"; shift; queue_db_write "$@"' _ "$HQ_QUEUE_LIB" "$@"
}
w "INSERT INTO w VALUES ('warm', 0)" || fail "warm-up write failed"
hq_wait_sql 30 "SELECT count(*) FROM w" 1

hook "$T/b.trace" "INSERT INTO w VALUES ('builtin', 1)" ins 12 '{"a":1}' ||
    fail "the builtin's write failed"
assert_eq "$(calls "$T/b.trace" '^[0-9]+ +(fork|vfork|clone|clone3)\(')" 0 \
    "forks of a hook through the builtin"
assert_eq "$(calls "$T/b.trace" '^[0-9]+ +execve\(')" 1 \
    "execs of a hook through the builtin (bash's own)"
hq_wait_sql 30 "SELECT count(*) FROM w WHERE k = 'builtin'" 1

# hqd stopped, and not started again by the library (HQD=true): what the
# builtin wrote stays in pending/ to be read.
hq_stop
export HQD_REAL=$HQD HQD=true
w "INSERT INTO w VALUES ('same', 2)" op 12 '{"m":[1]}' ||
    fail "write with hqd stopped"
f=$(ls "$ROOT/pending")
assert_eq "$(printf '%s\n' "$f" | wc -l)" 1 "entries in pending/"
case $f in 10_*) ;; *) fail "priority 12 not clamped to 10 in the name: $f" ;; esac
perl -MJSON::PP -e '
	my $j = do { local $/; open(my $f, "<", $ARGV[0]) or die; <$f> };
	my $e = JSON::PP->new->decode($j);
	$e->{sql} eq "INSERT INTO w VALUES ('"'same'"', 2)" or die "sql: $e->{sql}\n";
	$e->{operation} eq "op" or die "operation: $e->{operation}\n";
	$e->{priority} == 10 or die "priority: $e->{priority}\n";
	ref($e->{metadata}) eq "HASH" && $e->{metadata}{m}[0] == 1 or die "metadata\n";
' "$ROOT/pending/$f" || fail "the entry's keys: $(cat "$ROOT/pending/$f")"
# The same call through hqctl writes the same keys.
HQ_BASH_BUILTIN=false w "INSERT INTO w VALUES ('same', 3)" op 12 '{"m":[1]}' ||
    fail "write through hqctl with hqd stopped"
g=$(ls "$ROOT/pending" | grep -vxF "$f")
keys() {
	perl -MJSON::PP -e 'print join(",", sort keys %{JSON::PP->new->decode(
	    do { local $/; <STDIN> })})' <"$1"
}
assert_eq "$(keys "$ROOT/pending/$f")" "$(keys "$ROOT/pending/$g")" \
    "keys of the builtin's entry and of hqctl's"

# A priority that is no integer: queued at 5, said in worker.log.
w "INSERT INTO w VALUES ('prio', 4)" op x || fail "write with priority x"
grep -q "priority 'x' is not an integer: queued at 5" "$WLOG" ||
    fail "no warning for priority x in worker.log: $(tail -n 5 "$WLOG")"

# Over 128 KiB of SQL: an argument of an exec could not hold it.
{
	printf "INSERT INTO w VALUES ('big', length('"
	head -c 200000 /dev/zero | tr '\0' 'x'
	printf "'))"
} >"$T/big.sql"
bash -c '. "$1"; sql=$(<"$2"); queue_db_write "$sql"' _ "$HQ_QUEUE_LIB" \
    "$T/big.sql" || fail "a 200 KB write failed"

# worker.log cannot be opened (a directory in its place): the redirection
# fails before the builtin runs (status 1), and the library queues the
# write again without the log, once.
mv "$WLOG" "$WLOG.bak"
mkdir "$WLOG"
w "INSERT INTO w VALUES ('nolog', 5)" 2>"$T/nolog.err" ||
    fail "write without worker.log: $(cat "$T/nolog.err")"
rmdir "$WLOG"
mv "$WLOG.bak" "$WLOG"

# A root whose .tmp/ is a file: the builtin says why and exits as hqctl
# would (73), and the library does what it did for hqctl: the direct
# write with a sqlite3 command, else a dead letter in failed/.
mv "$ROOT/.tmp" "$ROOT/.tmp.bak"
: >"$ROOT/.tmp"
w "INSERT INTO w VALUES ('direct', 7)" 2>"$T/direct.err" || true
grep -q "hqctl enqueue failed with status 73" "$WLOG" ||
    fail "worker.log does not give the builtin's status: $(tail -n 5 "$WLOG")"
rm "$ROOT/.tmp"
mv "$ROOT/.tmp.bak" "$ROOT/.tmp"
if command -v sqlite3 >/dev/null; then
	assert_eq "$(hq_sql "SELECT count(*) FROM w WHERE k = 'direct'")" 1 \
	    "the direct write"
	direct="
direct|7"
else
	grep -rqs "'direct', 7" "$ROOT/failed" ||
	    fail "no sqlite3 command, and no dead letter for the write"
	direct=
fi

# HQ_BASH_BUILTIN=false: hqctl, one fork and one exec beside bash's.
export HQD=$HQD_REAL
hq_start
HQ_BASH_BUILTIN=false hook "$T/h.trace" "INSERT INTO w VALUES ('hqctl', 6)" ||
    fail "the hqctl write failed"
assert_eq "$(calls "$T/h.trace" '^[0-9]+ +(fork|vfork|clone|clone3)\(')" 1 \
    "forks of a hook through hqctl"
assert_eq "$(calls "$T/h.trace" '^[0-9]+ +execve\(')" 2 \
    "execs of a hook through hqctl"

# HQ_BASH_BUILTIN=false in a shell that has the builtin loaded already:
# that write runs hqctl all the same (the one fork of the trace).
strace -f -qq -e trace=fork,vfork,clone,clone3,execve -o "$T/m.trace" \
    bash -c '. "$1"; queue_db_write "INSERT INTO w VALUES ('"'mixed'"', 8)" &&
	HQ_BASH_BUILTIN=false queue_db_write "INSERT INTO w VALUES ('"'mixed'"', 9)"' \
    _ "$HQ_QUEUE_LIB" || fail "the mixed writes failed"
assert_eq "$(calls "$T/m.trace" '^[0-9]+ +(fork|vfork|clone|clone3)\(')" 1 \
    "forks of a builtin write then an HQ_BASH_BUILTIN=false write"

want="warm|0
builtin|1
same|2
same|3
prio|4
nolog|5
hqctl|6$direct
mixed|8
mixed|9"
hq_wait_sql 30 "SELECT count(*) FROM w" "$(($(printf '%s\n' "$want" | wc -l) + 1))"
assert_eq "$(hq_sql "SELECT k, v FROM w WHERE k <> 'big' ORDER BY v")" "$want" \
    "rows, each once"
assert_eq "$(hq_sql "SELECT v FROM w WHERE k = 'big'")" 200000 "the 200 KB write"
t3_done
note "hooks through hqenqueue.so: no fork, one exec; fallbacks as hqctl's"
