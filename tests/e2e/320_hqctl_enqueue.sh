#!/usr/bin/env bash
# `hqctl enqueue`: the entry it writes (name printed = the file in
# pending/, keys as the old library writes them) is applied by hqd with its
# parameters bound with their types; SQL from stdin with '-'; an id makes a
# second entry a duplicate. Refusals leave nothing behind, in pending/ or
# .tmp/: bad priority and numbers (64), empty SQL, bad metadata (65),
# unreadable stdin, a full disk (when a small tmpfs can be mounted); with
# --lenient the first three are queued with a warning instead. Bytes that
# are not UTF-8 are no refusal: 355 applies them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_3xx.sh"

hq_sql "CREATE TABLE p(a, b, c, d, e);
	CREATE TABLE s(x TEXT)"
# The tree the library's queue_init_dirs makes; hqd is not running yet.
mkdir -p "$ROOT/.tmp" "$ROOT/pending"

# only_pending NAME...: pending/ holds exactly these entries, .tmp/ nothing.
only_pending() {
	local want got
	want=$(printf '%s\n' "$@" | sort)
	got=$(cd "$ROOT/pending" && find . -mindepth 1 | sed 's|^\./||' | sort)
	[ "$got" = "$want" ] || fail "pending/ holds '$got', want '$want'"
	t3_nothing_in .tmp
}

# 1. All the options, hqd down: the printed name is the file in pending/.
t3_run t3_ctl enqueue --priority 3 --op set_p --id "p-row-1" \
	--metadata '{"session":"s1","tags":["a","b"],"n":1.5,"ok":true}' \
	--param "it's \"quoted\"" --int 9223372036854775807 --real 2.5 --null \
	--param 'ünï
cödé' \
	'INSERT INTO p(a, b, c, d, e) VALUES (?, ?, ?, ?, ?)'
assert_eq "$T3_RC" 0 "enqueue exit status"
[ ! -s "$T/err" ] || fail "enqueue wrote to stderr: $(cat "$T/err")"
n1=$(cat "$T/out")
t3_assert_match "$n1" '^3_[0-9]+_[0-9]+_[0-9]+\.json$' "printed name"
assert_eq "$(wc -l <"$T/out")" 1 "lines printed"
only_pending "$n1"
f=$ROOT/pending/$n1
t3_json_is "$f" '$j->{sql}' 'INSERT INTO p(a, b, c, d, e) VALUES (?, ?, ?, ?, ?)'
t3_json_is "$f" '$j->{operation}' set_p
t3_json_is "$f" '$j->{priority}' 3
t3_json_is "$f" '$j->{id}' p-row-1
t3_json_is "$f" '$j->{retries}' 0
t3_json_is "$f" '"3_$j->{seq}.json"' "$n1"
t3_json_is "$f" '$j->{created_at} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ ? 1 : 0' 1
t3_json_is "$f" 'JSON::PP->new->canonical->encode($j->{metadata})' \
	'{"n":1.5,"ok":true,"session":"s1","tags":["a","b"]}'
t3_json_is "$f" 'scalar @{$j->{params}}' 5
t3_json_is "$f" '$j->{params}[1]' 9223372036854775807
t3_json_is "$f" 'defined $j->{params}[3] ? "defined" : "null"' null

# 2. SQL from stdin, several lines, quotes and UTF-8.
t3_run t3_ctl enqueue --priority 7 - <<'EOF'
INSERT INTO s(x) VALUES ('from stdin: it''s');
INSERT INTO s(x) VALUES ('ünïcödé ✓');
EOF
assert_eq "$T3_RC" 0 "enqueue - exit status"
n2=$(cat "$T/out")
t3_assert_match "$n2" '^7_[0-9_]+\.json$' "printed name (stdin)"
# defaults: priority 5, operation generic, no id
t3_run t3_ctl enqueue "INSERT INTO s(x) VALUES ('defaults')"
assert_eq "$T3_RC" 0 "enqueue with defaults"
n3=$(cat "$T/out")
t3_assert_match "$n3" '^5_[0-9_]+\.json$' "default priority"
t3_json_is "$ROOT/pending/$n3" '$j->{operation}' generic
t3_json_is "$ROOT/pending/$n3" 'exists $j->{id} ? "id" : "no id"' "no id"
only_pending "$n1" "$n2" "$n3"

# 3. Refusals: the exit status, a message on stderr, nothing left.
refuse() {	# refuse STATUS ERE ARGS... (stdin as given)
	local want=$1 re=$2
	shift 2
	t3_run t3_ctl enqueue "$@"
	[ "$T3_RC" -eq "$want" ] ||
		fail "enqueue $*: exit $T3_RC, want $want ($(cat "$T/err"))"
	[ ! -s "$T/out" ] || fail "enqueue $*: printed '$(cat "$T/out")'"
	t3_assert_match "$(cat "$T/err")" "^hqctl: .*($re)" "enqueue $* message"
	only_pending "$n1" "$n2" "$n3"
}
refuse 64 'priority.*0' --priority 0 'SELECT 1'
refuse 64 'priority.*11' --priority 11 'SELECT 1'
refuse 64 'priority.*abc' --priority abc 'SELECT 1'
refuse 64 'priority' --priority '' 'SELECT 1'
refuse 64 'priority.*5x' --priority 5x 'SELECT 1'
refuse 64 'int.*abc' --int abc 'SELECT ?'
refuse 64 'real.*x' --real x 'SELECT ?'
refuse 64 'exactly one SQL' --op x
refuse 64 'exactly one SQL' 'SELECT 1' 'SELECT 2'
refuse 65 'sql is empty' ''
refuse 65 'sql is empty' '  ;
  '
refuse 65 'metadata' --metadata '{bad' 'SELECT 1'
refuse 65 'metadata' --metadata '{"a":1' 'SELECT 1'
refuse 65 'metadata' --metadata '{"a":1} trailing' 'SELECT 1'
refuse 65 'sql is empty' - </dev/null
refuse 65 'NUL' - < <(printf 'SELECT 1\0; DROP TABLE p')
# stdin that cannot be read: a directory, and no stdin at all
refuse 65 'Is a directory' - </
t3_run t3_ctl enqueue - <&-
[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
	fail "enqueue - with stdin closed: exit $T3_RC"
t3_assert_match "$(cat "$T/err")" '^hqctl: read SQL from stdin: .+' \
	"enqueue - with stdin closed: message"
only_pending "$n1" "$n2" "$n3"
# a root without a tree
t3_run "$HQCTL" --root "$T/nonexistent" enqueue 'SELECT 1'
[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
	fail "enqueue into a missing root: exit $T3_RC"
t3_assert_match "$(cat "$T/err")" 'nonexistent.*No such file' \
	"enqueue into a missing root: message"
[ ! -e "$T/nonexistent" ] || fail "enqueue made the missing root"

# --lenient (the shell library's): queued, with a warning on stderr.
t3_run t3_ctl enqueue --lenient --priority 0 --metadata '{bad' \
	"INSERT INTO s(x) VALUES ('lenient')"
assert_eq "$T3_RC" 0 "enqueue --lenient"
n4=$(cat "$T/out")
t3_assert_match "$n4" '^1_[0-9_]+\.json$' "--lenient: priority 0 queued at 1"
t3_assert_match "$(cat "$T/err")" \
	"^[0-9T:.-]+Z hqctl: $n4: priority 0 is not in 1\.\.10: queued at 1; metadata is not JSON \(json: .*\): kept as a JSON string$" \
	"--lenient: the warning"
t3_json_is "$ROOT/pending/$n4" '$j->{metadata}' '{bad'
t3_run t3_ctl enqueue --lenient --priority x ''
assert_eq "$T3_RC" 0 "enqueue --lenient of an empty SQL"
n5=$(cat "$T/out")
t3_assert_match "$n5" '^5_[0-9_]+\.json$' "--lenient: priority x queued at 5"
t3_assert_match "$(cat "$T/err")" "priority 'x' is not an integer: queued at 5" \
	"--lenient: the priority warning"
t3_assert_match "$(cat "$T/err")" "queued anyway, hqd will move it to failed/: sql is empty" \
	"--lenient: the empty SQL warning"
only_pending "$n1" "$n2" "$n3" "$n4" "$n5"

# 4. hqd applies what was queued, parameters with their types.
hq_start --workers 2
hq_wait_drained 30
assert_failed "$n5" 'sql is empty'
rm -f "$ROOT/failed/$n5" "$ROOT/failed/$n5.err"
assert_eq "$(hq_sql "SELECT a, typeof(a), b, typeof(b), c, typeof(c),
	typeof(d), e, typeof(e) FROM p")" \
	"it's \"quoted\"|text|9223372036854775807|integer|2.5|real|null|ünï
cödé|text" "row of p"
assert_eq "$(hq_sql "SELECT x FROM s ORDER BY x")" \
	"defaults
from stdin: it's
lenient
ünïcödé ✓" "rows of s"
assert_eq "$(hq_sql "SELECT count(*) FROM hq_ledger WHERE id = 'p-row-1'")" 1 \
	"ledger row of --id"

# 5. The same --id again: a duplicate, not applied twice.
t3_run t3_ctl enqueue --id p-row-1 "INSERT INTO p(a) VALUES ('again')"
assert_eq "$T3_RC" 0 "enqueue of a duplicate id"
hq_wait 30 "the duplicate to be counted" t3__stats_has '$j->{entries_duplicate}' 1
hq_wait_drained 30
assert_eq "$(hq_sql "SELECT count(*) FROM p")" 1 "rows of p after the duplicate"
# --sync and --no-sync enqueue the same way
for flag in --sync --no-sync; do
	t3_run t3_ctl enqueue "$flag" --op "op$flag" "INSERT INTO s(x) VALUES ('$flag')"
	assert_eq "$T3_RC" 0 "enqueue $flag"
done
hq_wait_sql 30 "SELECT count(*) FROM s WHERE x LIKE '--%sync'" 2
hq_stop TERM
assert_eq "$HQ_RC" 0 "hqd exit status"

# 6. A full disk: a 128 KiB tmpfs as the queue root, filled up.
SMALL=$T/small
mkdir -p "$SMALL"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=128k tmpfs "$SMALL" 2>/dev/null; then
	# unmounted on exit, before lib.sh removes $T
	t3_umount() {
		local rc=$?
		set +e
		umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true
		(exit "$rc")
		t3_cleanup
	}
	trap t3_umount EXIT
	mkdir -p "$SMALL/q/.tmp" "$SMALL/q/pending"
	dd if=/dev/zero of="$SMALL/fill" bs=4k 2>/dev/null || true
	t3_run "$HQCTL" --root "$SMALL/q" enqueue "INSERT INTO s(x) VALUES ('full')"
	[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
		fail "enqueue on a full disk: exit $T3_RC"
	t3_assert_match "$(cat "$T/err")" '^hqctl: .*No space left on device' \
		"enqueue on a full disk: message"
	left=$(find "$SMALL/q" -mindepth 2 ! -type d)
	[ -z "$left" ] || fail "enqueue on a full disk left: $left"
	# nearly full: the write of a 20 kB entry fails half way
	rm -f "$SMALL/fill"
	dd if=/dev/zero of="$SMALL/fill" bs=1k count=116 2>/dev/null || true
	big=$(head -c 20000 /dev/zero | tr '\0' x)
	t3_run "$HQCTL" --root "$SMALL/q" enqueue "SELECT '$big'"
	[ "$T3_RC" -ne 0 ] && [ "$T3_RC" -lt 128 ] ||
		fail "enqueue of 20 kB on a nearly full disk: exit $T3_RC"
	t3_assert_match "$(cat "$T/err")" 'No space left on device' \
		"enqueue on a nearly full disk: message"
	left=$(find "$SMALL/q" -mindepth 2 ! -type d)
	[ -z "$left" ] || fail "enqueue on a nearly full disk left: $left"
	# room again: it works
	rm -f "$SMALL/fill"
	t3_run "$HQCTL" --root "$SMALL/q" enqueue "SELECT 1"
	assert_eq "$T3_RC" 0 "enqueue after space was freed"
	umount "$SMALL"
else
	note "SKIP full disk: cannot mount a tmpfs here (not root or no permission)"
fi
note "hqctl enqueue: options, stdin, refusals leave nothing"
