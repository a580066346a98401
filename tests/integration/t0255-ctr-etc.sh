#!/bin/bash
# /etc/hosts, /etc/hostname, /etc/resolv.conf generated per container; hostname, domainname, extra_hosts,
# dns; devices; network namespaces (none, a given one, host); a restart keeps the writable layer; runtime
# errors are reported and leave nothing.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0299-ctr-lib.inc"


out=$(ct_run_log t-etc-1 '{"hostname":"db","domainname":"example.org","extra_hosts":{"gw.local":"10.9.8.7"},"dns":["192.0.2.53"],"command":["sh","-c","hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname; cat /etc/hosts; cat /etc/resolv.conf; grep -c \" /etc/hosts \" /proc/self/mountinfo"]}')
like "$out" $'db\ndb\nexample.org' "hostname and domainname, /etc/hostname"
like "$out" $'127.0.0.1\tlocalhost' "/etc/hosts has localhost"
like "$out" $'10.9.8.7\tgw.local' "extra_hosts in /etc/hosts"
like "$out" "nameserver 192.0.2.53" "dns in /etc/resolv.conf"
not_ok "only the given nameserver" grep -q "nameserver 127." <<<"$out"

# The host's resolv.conf (this test's own mount namespace may replace it): loopback resolvers are
# unreachable from another network namespace and left out; the rest, search and options are kept.
printf '# host file\nnameserver 127.0.0.1\nnameserver 192.0.2.1   # upstream\nsearch corp.example  lab.example\noptions ndots:2 timeout:1\n' >"$STACK_TEST_TMP/resolv.conf"
mount --bind "$STACK_TEST_TMP/resolv.conf" /etc/resolv.conf
out=$(ct_run_log t-etc-2 '{"command":["sh","-c","cat /etc/resolv.conf; ls /sys/class/net"]}')
not_ok "no loopback resolver from the host in a private network namespace" grep -q "nameserver 127\." <<<"$out"
like "$out" $'nameserver 192.0.2.1\nsearch corp.example lab.example\noptions ndots:2 timeout:1' "the host's other nameservers, search and options"
ct remove t-etc-2
printf 'nameserver 127.0.0.53\n' >"$STACK_TEST_TMP/resolv.conf"
out=$(ct_run_log t-etc-2 '{"command":["sh","-c","cat /etc/resolv.conf; ls /sys/class/net"]}')
umount /etc/resolv.conf
like "$out" $'nameserver 8.8.8.8\nnameserver 8.8.4.4' "only a loopback resolver on the host: docker's public fallback"
is "$(printf '%s\n' "$out" | grep -v nameserver | grep -v '^search\|^options' | tr '\n' ' ')" "lo " "network_mode none: only lo"

ip netns add t-etc-ns
ip -n t-etc-ns link add t-etc-dummy type veth peer name t-etc-peer
out=$(ct_run_log t-etc-3 '{"command":["ls","/sys/class/net"]}' --netns /run/netns/t-etc-ns)
like "$out" "t-etc-dummy" "a given network namespace is joined by path"
ct remove t-etc-3
ip netns del t-etc-ns

ip link add t-etc-hostlink type veth peer name t-etc-hostpeer
out=$(ct_run_log t-etc-4 '{"network_mode":"host","command":["sh","-c","ls /sys/class/net; hostname"]}')
like "$out" "t-etc-hostlink" "network_mode host: the host's interfaces"
like "$out" "$(hostname)" "network_mode host: the host's hostname"
ip link del t-etc-hostlink

# ipc: host shares the host's /dev/shm.
shm=/dev/shm/t-etc-shm-$$
echo "host shm" >"$shm"
out=$(ct_run_log t-etc-11 "{\"ipc\":\"host\",\"command\":[\"cat\",\"$shm\"]}")
rm -f "$shm"
is "$out" "host shm" "ipc: host sees the host's /dev/shm"
ct remove t-etc-11

out=$(ct_run_log t-etc-5 '{"devices":["/dev/null:/dev/mynull:rw"],"command":["sh","-c","echo x >/dev/mynull && echo dev-ok; ls -l /dev/mynull"]}')
like "$out" "dev-ok" "devices: a host device at a new path"
like "$out" "1,   3" "devices: same major/minor"

# A restart (stop, then create again) keeps the container's writable layer, as docker's restart does.
ct_run t-etc-6 '{"command":["sh","-c","echo $$ >>/counter; cat /counter | wc -l; sleep 100"]}' >/dev/null
wait_until 50 sh -c "$CT log t-etc-6 | grep -q 1"
ct stop t-etc-6 KILL 1 >/dev/null
ok "create again after exit" ct create t-etc-6 --rootfs "$LAYER" --service '{"command":["sh","-c","echo $$ >>/counter; cat /counter | wc -l; sleep 100"]}'
ok "and start" ct start t-etc-6
wait_until 50 sh -c "$CT log t-etc-6 | grep -q 2"
like "$(ct log t-etc-6)" $'1\n2' "the writable layer survived; the log is appended"
ct stop t-etc-6 KILL 1 >/dev/null

# A reboot empties the run root (runtime state, bundle, mounts) but keeps the root: the writable layer
# is still there when the container is created again.
ct_run t-etc-9 '{"command":["sh","-c","echo kept >/survivor; sleep 100"]}' >/dev/null
wait_until 50 test -f "$STACK_ROOT/containers/t-etc-9/upper/survivor"
ct stop t-etc-9 KILL 1 >/dev/null
ok "the runtime forgets it" rt_direct delete t-etc-9
umount "$STACK_RUN_ROOT/containers/t-etc-9/rootfs"
rm -rf "$STACK_RUN_ROOT/containers/t-etc-9"
like "$(ct list -)" "t-etc-9" "after the 'reboot' the container is known by its writable layer"
out=$(ct_run_log t-etc-9 '{"command":["cat","/survivor"]}')
like "$out" "kept" "the writable layer survived the loss of the run root"

# Leftovers of a crash in the middle of create (mounts under the bundle, no runtime state) are removed.
mkdir -p "$STACK_RUN_ROOT/containers/t-etc-10/rootfs"
mount -t tmpfs tmpfs "$STACK_RUN_ROOT/containers/t-etc-10/rootfs"
mkdir "$STACK_RUN_ROOT/containers/t-etc-10/rootfs/sub"
mount -t tmpfs tmpfs "$STACK_RUN_ROOT/containers/t-etc-10/rootfs/sub"
ok "remove a half-created container" ct remove t-etc-10
ok "its mounts are gone" test -z "$(grep "t-etc-10" /proc/self/mountinfo)"

err=$(ct run t-etc-7 --rootfs "$LAYER" --service '{"command":["/no/such/binary"]}' 2>&1)
like "$err" "create container t-etc-7" "a runtime failure names the container"
like "$err" "/no/such/binary" "and carries the runtime's message"
is "$(ct state t-etc-7)" absent "a failed create leaves no runtime state"
ok "nor a bundle" test ! -e "$STACK_RUN_ROOT/containers/t-etc-7"
ok "nor a writable layer" test ! -e "$STACK_ROOT/containers/t-etc-7"

err=$(ct create t-etc-8 --rootfs "$LAYER" --service '{"user":"nobody","command":["true"]}' 2>&1)
like "$err" "unable to find user nobody" "an unknown user is an error before the runtime runs"
err=$(ct create ../evil --rootfs "$LAYER" --service '{"command":["true"]}' 2>&1)
like "$err" "container name '../evil' is invalid" "container names cannot escape the state directories"

for n in 1 2 4 5 6 7 8 9; do
        ct remove t-etc-$n
done
assert_no_residue t-etc
done_testing
