#!/bin/bash
# Secure by default: docker's capabilities, seccomp, no_new_privs, masked and read-only paths, the device
# allowlist; compose keys loosen or tighten it.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"


out=$(ct_run_log t-sec-1 '{"command":["sh","-c","grep -E \"^(CapEff|CapBnd|Seccomp|NoNewPrivs):\" /proc/self/status; grep -c \" /proc/keys \" /proc/self/mountinfo; echo x >/proc/sys/kernel/domainname && echo sysrw; cat /dev/null && echo devnull; head -c1 /dev/mem >/dev/null 2>&1 || echo nomem; mknod /tmp/m c 1 1 && echo mknod-ok; head -c1 /tmp/m >/dev/null 2>&1 || echo mem-denied; touch /rootfs-write && echo rootfs-rw"]}')
like "$out" "CapEff:	00000000a80425fb" "docker's 14 default capabilities, effective"
like "$out" "CapBnd:	00000000a80425fb" "and bounding"
like "$out" "Seccomp:	2" "a seccomp filter is installed"
like "$out" "NoNewPrivs:	1" "no_new_privs is set"
like "$out" $'\n1\n' "/proc/keys is masked"
not_ok "/proc/sys is read-only" grep -q sysrw <<<"$out"
like "$out" "devnull" "/dev/null works"
like "$out" "nomem" "no /dev/mem"
like "$out" "mknod-ok" "creating a device node is allowed"
like "$out" "mem-denied" "but the device cgroup denies using it"
like "$out" "rootfs-rw" "the root file system is writable by default"

out=$(ct_run_log t-sec-2 '{"read_only":true,"command":["sh","-c","touch /x 2>&1 || echo ro-refused; touch /tmp/y 2>&1 || echo tmp-refused"]}')
like "$out" "ro-refused" "read_only: a write to the root file system is refused"
like "$out" "Read-only file system" "with EROFS"

out=$(ct_run_log t-sec-3 '{"read_only":true,"tmpfs":["/tmp:size=1m"],"command":["sh","-c","touch /tmp/y && echo tmp-ok; grep \" /tmp \" /proc/mounts"]}')
like "$out" "tmp-ok" "tmpfs stays writable on a read-only root"
like "$out" "size=1024k" "tmpfs size option applied"
like "$out" "noexec" "tmpfs gets docker's noexec default"

out=$(ct_run_log t-sec-4 '{"cap_drop":["CHOWN"],"command":["sh","-c","touch /f; chown 1000 /f 2>&1 || echo chown-failed"]}')
like "$out" "chown-failed" "cap_drop CHOWN: chown fails"
like "$out" "Operation not permitted" "with EPERM"
out=$(ct_run_log t-sec-5 '{"command":["sh","-c","touch /f; chown 1000 /f && echo chown-ok"]}')
like "$out" "chown-ok" "chown works with the default capabilities"

out=$(ct_run_log t-sec-6 '{"cap_drop":["ALL"],"cap_add":["NET_ADMIN"],"command":["grep","CapEff","/proc/self/status"]}')
like "$out" "0000000000001000" "cap_drop ALL + cap_add NET_ADMIN: only CAP_NET_ADMIN"

out=$(ct_run_log t-sec-7 '{"security_opt":["seccomp=unconfined","no-new-privileges:false"],"command":["grep","-E","^(Seccomp|NoNewPrivs):","/proc/self/status"]}')
like "$out" "Seccomp:	0" "seccomp=unconfined: no filter"
like "$out" "NoNewPrivs:	0" "no-new-privileges:false"

# The default policy denies namespace creation without CAP_SYS_ADMIN even for a root that could
# otherwise try; with the capability granted the same call is allowed by seccomp.
out=$(ct_run_log t-sec-8 '{"command":["sh","-c","unshare -U true 2>&1 && echo userns-ok || echo userns-denied"]}')
like "$out" "userns-denied" "default seccomp: unshare(CLONE_NEWUSER) is denied"

out=$(ct_run_log t-sec-9 '{"privileged":true,"command":["sh","-c","grep -E \"^(CapEff|Seccomp):\" /proc/self/status; grep -c \" /proc/keys \" /proc/self/mountinfo"]}')
like "$out" "CapEff:	$(awk '/^CapBnd/ {print $2}' /proc/self/status)" "privileged: every capability stack holds"
like "$out" "Seccomp:	0" "privileged: no seccomp"
like "$out" $'\n0' "privileged: /proc/keys not masked"

cat >"$STACK_TEST_TMP/profile.json" <<'J'
{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}
J
out=$(ct_run_log t-sec-10 "{\"security_opt\":[\"seccomp=$STACK_TEST_TMP/profile.json\"],\"command\":[\"sh\",\"-c\",\"mkdir /newdir 2>&1 || echo mkdir-denied\"]}")
like "$out" "Permission denied" "seccomp=FILE: the profile's errnoRet is applied"

for n in 1 2 3 4 5 6 7 8 9 10; do
        ct remove t-sec-$n
done
assert_no_residue t-sec
done_testing
