#!/bin/bash
# Registry authentication against real registries: htpasswd Basic auth (login, logout, docker's
# config.json, a credential helper on PATH) and token auth (the registry configured with `auth: token`,
# a token server of the test's own issuing RS256-signed JWTs; tokens reused per scope).
. "$STACK_SRCDIR/tests/integration/lib.sh"
. "$STACK_SRCDIR/tests/integration/t0549-registry-lib.inc"
command -v htpasswd >/dev/null || skip_all "htpasswd (apache2-utils) not installed"
command -v openssl >/dev/null || skip_all "openssl not installed"

build_test_images
export DOCKER_CONFIG=$T/docker
trap 'stop_proxy; stop_registries; [ -n "${TOKEN_PID:-}" ] && kill "$TOKEN_PID"' EXIT

# --- Basic auth (htpasswd) ---
htpasswd -Bbn alice s3cret >"$T/htpasswd"
start_registry basic "$T/htpasswd" || exit 1
skopeo_push "oci:$IMG/httpd" "$REG/priv/httpd:1" --dest-creds alice:s3cret

out=$(stack image pull "$REG/priv/httpd:1" 2>&1)
like "$out" "pull access denied for $REG/priv/httpd" "without credentials: access denied"
like "$out" "needs 'stack login $REG'" "with the command that helps"
out=$(echo wrong | stack login -u alice --password-stdin "$REG" 2>&1)
like "$out" "unauthorized: incorrect username or password" "a wrong password is refused by the registry"
ok "and nothing is written" test ! -e "$DOCKER_CONFIG/config.json"
mkdir -p "$DOCKER_CONFIG"
echo '{"auths": {"other.example": {"auth": "eDp5"}}, "psFormat": "table"}' >"$DOCKER_CONFIG/config.json"
out=$(echo s3cret | stack login -u alice --password-stdin "$REG" 2>&1)
is "$out" "Login Succeeded" "login with the right password"
is "$(stat -c %a "$DOCKER_CONFIG/config.json")" 600 "config.json is private (0600)"
cfg=$(cat "$DOCKER_CONFIG/config.json")
like "$cfg" "\"$REG\"" "the registry has an entry"
like "$cfg" "$(printf alice:s3cret | base64)" "holding user:password in base64, as docker writes it"
like "$cfg" '"psFormat"' "other keys are kept"
like "$cfg" '"other.example"' "other registries are kept"
ok "the pull now succeeds" stack image pull -q "$REG/priv/httpd:1"
ok "and push too" stack image push -q "$REG/priv/httpd:1"
ok "logout" stack logout "$REG"
not_ok "the entry is gone" grep -q "\"$REG\"" "$DOCKER_CONFIG/config.json"
out=$(stack logout "$REG" 2>&1)
like "$out" "not logged in to $REG" "a second logout says so"
out=$(stack login -u alice -p s3cret "$REG" 2>&1)
like "$out" "Login Succeeded" "-p works (with a warning)"
stack logout "$REG" >/dev/null

# A credential helper named by credsStore answers on stdin/stdout.
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-testhelper" <<SH
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r server
echo "\$server" >>"$T/helper.log"
echo '{"ServerURL": "'"\$server"'", "Username": "alice", "Secret": "s3cret"}'
SH
chmod +x "$T/bin/docker-credential-testhelper"
echo '{"credsStore": "testhelper"}' >"$DOCKER_CONFIG/config.json"
rm -rf "$T/root2"
ok "credentials from a credential helper" env PATH="$T/bin:$PATH" "$STACK_BIN" --root "$T/root2" image pull -q "$REG/priv/httpd:1"
like "$(cat "$T/helper.log" 2>/dev/null)" "$REG" "the helper was asked for this registry"
rm -f "$DOCKER_CONFIG/config.json"

# login and logout with a credsStore: the secret goes to the helper (store/erase), config.json keeps only an
# empty entry, as docker does. The helper keeps what it is given in a file.
cat >"$T/bin/docker-credential-filestore" <<SH
#!/bin/sh
store=$T/filestore.json
case "\$1" in
store) cat >"\$store" ;;
get) read -r server; [ -s "\$store" ] && cat "\$store" || { echo "credentials not found in native keychain"; exit 1; } ;;
erase) read -r server; [ -s "\$store" ] || { echo "credentials not found in native keychain"; exit 1; }; rm -f "\$store" ;;
*) exit 1 ;;
esac
SH
chmod +x "$T/bin/docker-credential-filestore"
echo '{"credsStore": "filestore"}' >"$DOCKER_CONFIG/config.json"
out=$(echo s3cret | PATH="$T/bin:$PATH" stack login -u alice --password-stdin "$REG" 2>&1)
is "$out" "Login Succeeded" "login with a credsStore"
stored=$(cat "$T/filestore.json" 2>/dev/null)
like "$stored" '"Secret":"s3cret"' "the helper was given the secret"
like "$stored" '"Username":"alice"' "and the user"
like "$stored" "\"ServerURL\":\"$REG\"" "for this registry"
cfg=$(cat "$DOCKER_CONFIG/config.json")
like "$cfg" "\"$REG\"" "config.json records the login"
not_ok "but holds no secret" grep -q -e auth\" -e s3cret "$DOCKER_CONFIG/config.json"
rm -rf "$T/root2"
ok "the pull uses the stored credentials" env PATH="$T/bin:$PATH" "$STACK_BIN" --root "$T/root2" image pull -q "$REG/priv/httpd:1"
ok "logout" env PATH="$T/bin:$PATH" "$STACK_BIN" logout "$REG"
not_ok "the helper erased the secret" test -e "$T/filestore.json"
not_ok "the entry is gone from config.json" grep -q "\"$REG\"" "$DOCKER_CONFIG/config.json"
out=$(PATH="$T/bin:$PATH" stack logout "$REG" 2>&1)
like "$out" "not logged in to $REG" "a second logout says so"
rm -f "$DOCKER_CONFIG/config.json"

# --- token auth: the registry trusts a certificate, the test's token server signs with its key ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/token.key" -out "$T/token.crt" -days 2 \
        -subj /CN=stack-test-token >/dev/null 2>&1
tport=$(free_port)
cat >"$T/token.py" <<'PY'
import base64, http.server, json, subprocess, sys, time, urllib.parse
port, key, crt, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"], capture_output=True, check=True).stdout
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        with open(log, "a") as f:
            f.write("scope=%s auth=%s\n" % (q.get("scope", [""])[0], "basic" if auth else "none"))
        if auth != "Basic " + base64.b64encode(b"bob:hunter2").decode():
            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
        access = []
        for s in q.get("scope", []):
            typ, name, actions = s.split(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        head = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": "stack-test", "sub": "bob", "aud": q["service"][0], "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": str(now) + str(id(self)), "access": access}
        signing = (b64(json.dumps(head).encode()) + "." + b64(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing, capture_output=True,
                             check=True).stdout
        body = json.dumps({"token": signing.decode() + "." + b64(sig), "expires_in": 300}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$T/token.py" "$tport" "$T/token.key" "$T/token.crt" "$T/token.log" >/dev/null 2>&1 &
TOKEN_PID=$!
wait_until 300 port_open "$tport"
port=$(free_port)
mkdir -p "$T/tok/data"
cat >"$T/tok/config.yml" <<YAML
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $T/tok/data}}
http: {addr: 127.0.0.1:$port}
auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: stack-test-registry
    issuer: stack-test
    rootcertbundle: $T/token.crt
YAML
docker-registry serve "$T/tok/config.yml" >"$T/tok/log" 2>&1 &
REG_PIDS+=($!)
wait_until 300 port_open "$port"
TREG=127.0.0.1:$port
skopeo_push "oci:$IMG/redis" "$TREG/team/redis:1" --dest-creds bob:hunter2

out=$(stack image pull "$TREG/team/redis:1" 2>&1)
like "$out" "incorrect username or password" "token auth without credentials is refused"
out=$(echo nope | stack login -u bob --password-stdin "$TREG" 2>&1)
like "$out" "incorrect username or password" "login with a wrong password is refused by the token server"
ok "login through the token server" sh -c "echo hunter2 | '$STACK_BIN' login -u bob --password-stdin '$TREG'"
: >"$T/token.log"
ok "the pull gets a bearer token and succeeds" stack image pull -q "$TREG/team/redis:1"
is "$(grep -c 'scope=repository:team/redis:pull auth=basic' "$T/token.log")" 1 \
        "one token for the repository, reused for the manifest and every blob"
ok "the pulled image is complete" stack image inspect "$TREG/team/redis:1"
ok "a tag pushes with a pull,push token" stack image tag "$TREG/team/redis:1" "$TREG/team/copy:2"
ok "push" stack image push -q "$TREG/team/copy:2"
like "$(cat "$T/token.log")" "scope=repository:team/copy:pull,push" "push asked for pull,push on its repository"
ok "skopeo reads what was pushed" skopeo inspect --tls-verify=false --creds bob:hunter2 "docker://$TREG/team/copy:2"

stop_registries
kill "$TOKEN_PID"
wait "$TOKEN_PID" 2>/dev/null
TOKEN_PID=
trap - EXIT
is "$(pgrep -f -- "$T/" | grep -v "^$$\$" || true)" "" "registries and the token server are gone"
done_testing
