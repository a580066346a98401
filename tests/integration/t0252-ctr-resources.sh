#!/bin/bash
# Resources through the runtime's cgroup settings: a memory limit stops a hog, pids, cpus, ulimits,
# sysctls, shm_size, oom_score_adj.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"


# 64 MiB buffer in a 16 MiB container: the kernel's OOM killer ends it.
out=$(ct_run_log t-res-1 '{"mem_limit":16777216,"command":["sh","-c","dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?"]}')
like "$out" "rc=137" "mem_limit: a memory hog is killed (SIGKILL from the OOM killer)"
out=$(ct_run_log t-res-2 '{"command":["sh","-c","dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?"]}')
like "$out" "rc=0" "without the limit the same allocation succeeds"

# shellcheck disable=SC2016 # $(jobs -p) runs in the container
out=$(ct_run_log t-res-3 '{"pids_limit":5,"command":["sh","-c","for i in 1 2 3 4 5 6 7 8; do sleep 5 & done 2>&1; echo spawned; kill $(jobs -p) 2>/dev/null"]}')
like "$out" "Resource temporarily unavailable" "pids_limit: fork fails past the limit"
# Without pids_limit a container still stops at 2048 processes, so a fork bomb cannot take the host;
# pids_limit: -1 lifts that (the kernel's "max").
pids_max() { # pids_max NAME: the container's pids.max as the kernel has it
        cat /sys/fs/cgroup/pids/stack/"$1"-*/pids.max 2>/dev/null || cat /sys/fs/cgroup/stack/"$1"-*/pids.max
}
ok "a container without pids_limit starts" ct_run t-res-3b '{"command":["sleep","600"]}'
is "$(pids_max t-res-3b)" "2048" "its pids.max is the default 2048"
ok "a container with pids_limit: -1 starts" ct_run t-res-3c '{"pids_limit":-1,"command":["sleep","600"]}'
is "$(pids_max t-res-3c)" "max" "its pids.max is unlimited"
for n in 3b 3c; do
        ct stop t-res-$n KILL 1 >/dev/null
        ct remove t-res-$n >/dev/null
done

if [ -d /sys/fs/cgroup/cpu ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
        ct_run t-res-4 '{"cpus":0.5,"cpu_shares":512,"command":["sleep","100"]}' >/dev/null
        cg=$(echo /sys/fs/cgroup/cpu/stack/t-res-4-*)
        is "$(cat "$cg/cpu.cfs_quota_us" 2>/dev/null)" 50000 "cpus: 0.5 is a 50ms quota per 100ms"
        is "$(cat "$cg/cpu.shares" 2>/dev/null)" 512 "cpu_shares"
        ct stop t-res-4 KILL 1 >/dev/null
else
        ct_run t-res-4 '{"cpus":0.5,"command":["sleep","100"]}' >/dev/null
        is "$(cat /sys/fs/cgroup/stack/t-res-4-*/cpu.max 2>/dev/null)" "50000 100000" "cpus: 0.5 (cgroup v2)"
        ok "placeholder for cpu_shares on v2" true
        ct stop t-res-4 KILL 1 >/dev/null
fi

out=$(ct_run_log t-res-5 '{"ulimits":{"nofile":{"soft":1000,"hard":2000}},"oom_score_adj":500,"shm_size":8388608,"sysctls":{"net.ipv4.ip_forward":"1"},"command":["sh","-c","ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; df -k /dev/shm | tail -1; cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/net/ipv4/ip_unprivileged_port_start"]}')
like "$out" $'1000\n2000' "ulimits nofile soft and hard"
like "$out" $'\n500\n' "oom_score_adj"
like "$out" " 8192 " "shm_size: /dev/shm is 8 MiB"
like "$out" $'\n1\n0' "sysctls set (and docker's unprivileged port default)"

not_ok "a non-namespaced sysctl is refused" ct create t-res-6 --rootfs "$LAYER" --service '{"sysctls":{"kernel.panic":"1"},"command":["true"]}'
err=$(ct create t-res-6 --rootfs "$LAYER" --service '{"sysctls":{"kernel.panic":"1"},"command":["true"]}' 2>&1)
like "$err" "sysctl 'kernel.panic' is not allowed" "the error names the sysctl"
is "$(ct state t-res-6)" absent "a failed create leaves no container"
ok "and no bundle" test ! -e "$STACK_RUN_ROOT/containers/t-res-6"

for n in 1 2 3 4 5 6; do
        ct remove t-res-$n
done
assert_no_residue t-res
done_testing
