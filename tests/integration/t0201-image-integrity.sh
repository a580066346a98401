#!/bin/bash
# Imports that must fail, and fail cleanly: a corrupted blob, a wrong size, a layer that does not match
# its diff_id, path escapes inside a layer. Each is refused with an error that says what and where, and
# the store is left exactly as it was (no blob, layer, record, reference or staging debris).
. "$STACK_SRCDIR/tests/integration/lib.sh"

T=$STACK_TEST_TMP
store=$STACK_ROOT/images

snapshot() {
        (cd "$store" && find . -maxdepth 3 -path ./lock -prune -o -print | sort | sha256sum && cat refs.json)
}

ok "example images build" "$STACK_SRCDIR/examples/build-images.sh" --no-import "$T/ex"
ok "a good image imports first" stack image import "$T/ex/worker.oci.tar"
before=$(snapshot)

# refuse DESC EXPECTED-MESSAGE stack-args...: the import fails, says why, and changes nothing.
refuse() {
        local desc=$1 want=$2
        shift 2
        local out
        out=$(stack image import "$@" 2>&1)
        local rc=$?
        is "$rc" 1 "$desc: refused (exit 1)"
        like "$out" "$want" "$desc: the error says \"$want\""
        is "$(snapshot)" "$before" "$desc: the store is unchanged"
}

# A layer blob with one byte flipped (same size): its digest no longer matches the manifest's. The
# layer chosen is httpd's own (the base layer is already stored, verified, and would not be read again).
cp -r "$T/ex/httpd" "$T/corrupt"
layer=$(cd "$T/ex/httpd/blobs/sha256" && for b in *; do
        [ -e "$store/blobs/sha256/$b" ] || [ "$(stat -c %s "$b")" -lt 4096 ] || echo "$b"
done | head -n 1)
off=$(($(stat -c %s "$T/corrupt/blobs/sha256/$layer") / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$T/corrupt/blobs/sha256/$layer" | tr -d ' ')
# shellcheck disable=SC2059
printf "\\$(printf %03o $(((byte + 1) % 256)))" |
        dd of="$T/corrupt/blobs/sha256/$layer" bs=1 seek="$off" conv=notrunc status=none
refuse "corrupted layer blob" "match the expected sha256:$layer" "$T/corrupt"

# The same blob truncated: the size check names the descriptor.
cp -r "$T/ex/httpd" "$T/short"
truncate -s -1024 "$T/short/blobs/sha256/$layer"
refuse "truncated layer blob" "sha256:$layer" "$T/short"

# A config blob that was edited: its digest is checked too.
cp -r "$T/ex/httpd" "$T/badcfg"
cfg=
for f in "$T"/badcfg/blobs/sha256/*; do
        if grep -q '"rootfs"' "$f" 2>/dev/null; then cfg=$(basename "$f"); fi
done
sed -i 's/httpd/HTTPD/' "$T/badcfg/blobs/sha256/$cfg"
refuse "edited config blob" "does not match" "$T/badcfg"

# A docker save archive whose layer does not match the config's diff_id.
d=$T/dsave
mkdir -p "$d/tree" "$d/out/l"
echo hi >"$d/tree/hello"
tar -C "$d/tree" -cf "$d/out/l/layer.tar" .
printf '{"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%064d"]}}' 0 >"$d/cfg.json"
c=$(sha256sum "$d/cfg.json" | cut -d' ' -f1)
cp "$d/cfg.json" "$d/out/$c.json"
printf '[{"Config":"%s.json","RepoTags":["bad/diffid:1"],"Layers":["l/layer.tar"]}]' "$c" >"$d/out/manifest.json"
tar -C "$d/out" -cf "$d/bad.tar" .
refuse "layer not matching its diff_id" "does not match the config's diff_id" "$d/bad.tar"

# Layers that try to write outside their directory, as plain rootfs tarballs. python3's tarfile writes
# the names verbatim (GNU tar would strip them).
craft() { # craft OUT ENTRY-SPEC...: "f:name" file, "l:name:target" symlink, "h:name:target" hard link
        python3 - "$@" <<'PY'
import io, sys, tarfile
out, specs = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for s in specs:
        kind, name, *rest = s.split(":", 2)
        ti = tarfile.TarInfo(name)
        if kind == "f":
            data = b"owned\n"
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
            continue
        ti.type = tarfile.SYMTYPE if kind == "l" else tarfile.LNKTYPE
        ti.linkname = rest[0]
        t.addfile(ti)
PY
}
if command -v python3 >/dev/null; then
        craft "$T/dotdot.tar" "f:../../escaped"
        refuse "'..' entry" "entry '../../escaped': path contains '..'" "$T/dotdot.tar" evil:dotdot
        craft "$T/abs.tar" "f:$T/escaped"
        refuse "absolute entry" "entry '$T/escaped': absolute path" "$T/abs.tar" evil:abs
        craft "$T/symlink.tar" "l:esc:$T" "f:esc/escaped"
        refuse "write through a symlink" "entry 'esc/escaped': refusing to write through symlink 'esc'" \
                "$T/symlink.tar" evil:symlink
        craft "$T/hardlink.tar" "h:passwd:../../../../etc/passwd"
        refuse "hard link out of the layer" "entry 'passwd': hard link target '../../../../etc/passwd'" \
                "$T/hardlink.tar" evil:hardlink
        not_ok "nothing escaped next to the test directory" test -e "$T/escaped"
        not_ok "nothing escaped into the store" test -e "$store/escaped"
else
        diag "python3 missing: crafted-tar cases are covered by tests/unit/test-layer"
fi

# Not an archive at all.
head -c 2048 /dev/urandom >"$T/noise"
refuse "random bytes" "not a tar file" "$T/noise" noise:1

# Debris of an import that died half-way is cleaned by the next writer.
mkdir -p "$store/tmp/import-crashed/layer-0"
echo partial >"$store/tmp/import-crashed/layer-0/file"
ok "an import after a crash succeeds" stack image import "$T/ex/httpd"
is "$(find "$store/tmp" -mindepth 1 | wc -l)" 0 "the crashed import's staging directory is gone"

assert_no_residue image
done_testing
