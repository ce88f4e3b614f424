#!/usr/bin/env bash
# Network file systems: a queue root or database on NFS, CIFS/SMB, Ceph...
# is refused with 78 and a message naming the path and the file system,
# unless --allow-network-fs or HQ_ALLOW_NETWORK_FS; FUSE is only warned
# about. No NFS mount here: HQ_TEST_FSTYPE (HQ_TESTING builds only) makes
# hqd believe statfs said so, for the root and the database alike.
. "$(dirname "$0")/lib.sh"

for fs in nfs:NFS cifs:CIFS smb2:SMB2 smb:SMB ceph:Ceph 9p:9p; do
	HQ_TEST_FSTYPE=${fs%%:*} hq_run --root "$ROOT" --db "$DB"
	assert_eq "$HQ_RC" 78 "HQ_TEST_FSTYPE=${fs%%:*}: exit status"
	err=$(cat "$T/run.err")
	assert_match "$err" "queue root $ROOT is on ${fs#*:}, a network file system: refusing" \
	    "${fs%%:*}: refusal"
	assert_match "$err" "--allow-network-fs" "${fs%%:*}: names the way out"
	[ ! -e "$DB" ] || fail "${fs%%:*}: database created before refusing"
	[ ! -e "$ROOT/.hqd.lock" ] || fail "${fs%%:*}: root locked before refusing"
done

# A local file system passes untouched.
HQ_TEST_FSTYPE=ext4 hq_run --root "$ROOT" --db "$DB" -n
assert_eq "$HQ_RC" 0 "HQ_TEST_FSTYPE=ext4 -n"

# Forced, by flag or by variable: a warning, then hq works as usual.
export HQ_TEST_FSTYPE=nfs
hq_start --allow-network-fs
hq_wait_log 5 'queue root .* is on NFS: allowed by --allow-network-fs'
hq_wait_log 5 'database .* is on NFS: allowed by --allow-network-fs'
hq_drop 5_1.json '{"sql":"CREATE TABLE t(v)"}'
hq_wait_sql 10 "SELECT count(*) FROM sqlite_master WHERE name='t'" 1
hq_stop
assert_eq "$HQ_RC" 0 "forced by flag: exit status"

HQ_ALLOW_NETWORK_FS=true hq_start
hq_drop 5_2.json '{"sql":"INSERT INTO t VALUES (1)"}'
hq_wait_sql 10 "SELECT count(*) FROM t" 1
hq_stop
assert_eq "$HQ_RC" 0 "forced by variable: exit status"

# A bad value of the variable is a configuration error like any other.
HQ_ALLOW_NETWORK_FS=perhaps hq_run --root "$ROOT" --db "$DB"
assert_eq "$HQ_RC" 78 "HQ_ALLOW_NETWORK_FS=perhaps"
grep -q HQ_ALLOW_NETWORK_FS "$T/run.err" || fail "bad value not named"

# The flag beats the variable: --allow-network-fs=false refuses.
HQ_ALLOW_NETWORK_FS=true hq_run --root "$ROOT" --db "$DB" \
    --allow-network-fs=false
assert_eq "$HQ_RC" 78 "--allow-network-fs=false over the variable"

# FUSE: warned about, not refused.
HQ_TEST_FSTYPE=fuse hq_start
hq_wait_log 5 'queue root .* is on FUSE'
hq_stop
assert_eq "$HQ_RC" 0 "FUSE: exit status"
note "ok"
