#!/usr/bin/env bash
# Permissions and trust: a world-writable root without the sticky bit is
# refused at start (78); the tree is created 0750; an entry owned by
# another user is refused with a reason ("not trusted"); with --group the
# tree is shared with that group (2770, setgid) and its members' entries
# are applied. Needs root (chown); skipped otherwise.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { note "not root: skipped"; exit 77; }
hq_sql "CREATE TABLE t(v INTEGER)"

# 1. World-writable root, no sticky bit: refused before anything runs.
mkdir -p "$ROOT"
chmod 0777 "$ROOT"
rc=0
"$HQD" --root "$ROOT" --db "$DB" >>"$LOG" 2>&1 || rc=$?
assert_eq "$rc" 78 "exit status on a world-writable root"
grep -q "world-writable without the sticky bit" "$LOG" ||
    fail "no reason logged for the world-writable root"
# With the sticky bit (like /tmp) it is accepted.
chmod 1777 "$ROOT"
hq_start --workers 1
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status with a sticky root"

# 2. A fresh tree is 0750; an entry owned by nobody is refused.
ROOT=$T/q2
hq_start --workers 1
assert_eq "$(stat -c %a "$ROOT/pending")" 750 "pending/ mode"
printf '{"sql":"INSERT INTO t(v) VALUES (1)"}' >"$ROOT/.tmp/5_1.json"
chown nobody "$ROOT/.tmp/5_1.json"
mv "$ROOT/.tmp/5_1.json" "$ROOT/pending/"
hq_drop 5_2.json '{"sql":"INSERT INTO t(v) VALUES (2)"}'
hq_wait_drained 20
assert_eq "$(hq_sql "SELECT group_concat(v) FROM t")" 2 "rows applied"
grep -q '"error":"entry owned by uid [0-9]*, not trusted' \
    "$ROOT/failed/5_1.json.err" || fail "no trust reason in the note"
hq_stop TERM

# 3. --group: 2770 setgid tree; a member's entry (group-owned) applies.
getent group nogroup >/dev/null || { note "no group nogroup: part 3 skipped"; exit 0; }
ROOT=$T/q3
hq_start --workers 1 --group nogroup
assert_eq "$(stat -c %a:%G "$ROOT/pending")" 2770:nogroup "pending/ mode and group"
printf '{"sql":"INSERT INTO t(v) VALUES (3)"}' >"$ROOT/.tmp/5_3.json"
chown nobody:nogroup "$ROOT/.tmp/5_3.json"
mv "$ROOT/.tmp/5_3.json" "$ROOT/pending/"
hq_wait_drained 20
assert_eq "$(hq_sql "SELECT group_concat(v) FROM t")" 2,3 "rows applied"
assert_eq "$(hq_count failed)" 0 "failed/ with --group"
hq_stop TERM
assert_eq "$HQ_RC" 0 "exit status"
note "trust: world-writable refused, foreign owner refused, group shared"
