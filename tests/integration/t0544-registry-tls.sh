#!/bin/bash
# A registry over TLS with a certificate authority made here by openssl, as users configure one: the CA (and a
# client certificate when the registry asks for one) under /etc/docker/certs.d/HOST:PORT/. /etc is covered
# by an overlay in this test's mount namespace, so nothing is written to the host's /etc.
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0549-registry-lib.inc"
command -v openssl >/dev/null || skip_all "openssl not installed"
command -v htpasswd >/dev/null || skip_all "htpasswd (apache2-utils) not installed"

build_test_images
export DOCKER_CONFIG=$T/docker
TLS_PIDS=()
trap 'for p in "${TLS_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; umount /etc 2>/dev/null' EXIT

mkdir -p "$T/etc-up" "$T/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-up,workdir=$T/etc-work" /etc ||
        skip_all "cannot put an overlay on /etc"

# The CA, a server certificate for 127.0.0.1 signed by it, and a client certificate.
pki=$T/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stack test CA" \
        -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1\n' >"$pki/san.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
        -extfile "$pki/san.ext" -out "$pki/server.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=stack client" -keyout "$pki/client.key" -out "$pki/client.csr" 2>/dev/null
openssl x509 -req -in "$pki/client.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
        -out "$pki/client.cert" 2>/dev/null
htpasswd -Bbn alice s3cret >"$T/htpasswd"

# start_tls NAME [clientca]: a registry serving https on a free port (REG=127.0.0.1:PORT), with htpasswd auth;
# with clientca it also requires a client certificate signed by the CA.
start_tls() {
        local name=$1 port
        port=$(free_port)
        mkdir -p "$T/$name/data"
        {
                echo "version: 0.1"
                echo "log: {level: info}"
                echo "storage: {filesystem: {rootdirectory: $T/$name/data}}"
                echo "auth: {htpasswd: {realm: test-realm, path: $T/htpasswd}}"
                echo "http:"
                echo "  addr: 127.0.0.1:$port"
                echo "  tls:"
                echo "    certificate: $pki/server.crt"
                echo "    key: $pki/server.key"
                if [ "${2:-}" = clientca ]; then
                        echo "    clientcas: [$pki/ca.crt]"
                fi
        } >"$T/$name/config.yml"
        docker-registry serve "$T/$name/config.yml" >"$T/$name/log" 2>&1 &
        TLS_PIDS+=($!)
        wait_until 300 port_open "$port" || return 1
        REG=127.0.0.1:$port
}

start_tls tls || exit 1
skopeo copy -q --dest-cert-dir "$pki" --dest-creds alice:s3cret "oci:$IMG/httpd" "docker://$REG/sec/httpd:1" 2>/dev/null ||
        skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$IMG/httpd" "docker://$REG/sec/httpd:1"

# Without the CA: a TLS error that says where the CA goes, and nothing is stored.
out=$(echo s3cret | stack login -u alice --password-stdin "$REG" 2>&1)
like "$out" "/etc/docker/certs.d/$REG/ca.crt" "an untrusted certificate: the error says where the CA goes"
ok "and nothing is written" test ! -e "$DOCKER_CONFIG/config.json"

mkdir -p "/etc/docker/certs.d/$REG"
cp "$pki/ca.crt" "/etc/docker/certs.d/$REG/ca.crt"
ok "the CA is only in this test's view of /etc" test ! -e "/proc/1/root/etc/docker/certs.d/$REG"
out=$(echo s3cret | stack login -u alice --password-stdin "$REG" 2>&1)
is "$out" "Login Succeeded" "with certs.d/HOST:PORT/ca.crt: login over TLS"
ok "pull over TLS" stack image pull -q "$REG/sec/httpd:1"
ok "push over TLS" stack image push -q "$REG/sec/httpd:1"
ok "the registry saw the pull (over https)" grep -q 'manifests/1' "$T/tls/log"
stack logout "$REG" >/dev/null

# A registry that requires a client certificate: refused without one, served with certs.d's client.cert.
start_tls mtls clientca || exit 1
mkdir -p "/etc/docker/certs.d/$REG"
cp "$pki/ca.crt" "/etc/docker/certs.d/$REG/ca.crt"
out=$(echo s3cret | stack login -u alice --password-stdin "$REG" 2>&1)
not_ok "without a client certificate: refused" test "$out" = "Login Succeeded"
cp "$pki/client.cert" "$pki/client.key" "/etc/docker/certs.d/$REG/"
out=$(echo s3cret | stack login -u alice --password-stdin "$REG" 2>&1)
is "$out" "Login Succeeded" "with client.cert and client.key: login"
skopeo copy -q --dest-cert-dir "/etc/docker/certs.d/$REG" --dest-creds alice:s3cret "oci:$IMG/httpd" \
        "docker://$REG/sec/httpd:1" 2>/dev/null
ok "pull with a client certificate" stack image pull -q "$REG/sec/httpd:1"

for p in "${TLS_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
done
ok "the registries are gone" test -z "$(for p in "${TLS_PIDS[@]}"; do ps -o pid= -p "$p"; done)"
TLS_PIDS=()
done_testing
