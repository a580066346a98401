#!/bin/bash
# Checks that every #include in the C sources runs down the layers, never up:
#
#   base   core/base                     includes base only
#   spec   spec/                         includes base
#   net    net/                          includes base
#   core   core/<anything but base>      includes base, spec, net, core
#   cmd    cmd/                          includes everything; nothing includes cmd
#
# spec and net sit side by side: neither includes the other, and the engine (core) joins them.
# Includes are written from the top of the tree ("core/base/error.h"); one the check cannot place in a
# layer (a file outside these folders, or one that does not exist) is reported too.
#
# Usage: tools/check-layers.sh [-a ALLOW-LIST] [SRCDIR]
# Prints one line per violation, FILE:LINE: message, and exits 1 if there is any. An allow-list holds
# known violations, one "FILE INCLUDED" pair a line ('#' starts a comment); an entry that no longer
# matches an include is an error as well, so the list can only shrink.
set -euo pipefail

allow=
while getopts a: opt; do
        case $opt in
        a) allow=$OPTARG ;;
        *) echo "usage: $0 [-a ALLOW-LIST] [SRCDIR]" >&2; exit 2 ;;
        esac
done
shift $((OPTIND - 1))
srcdir=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$srcdir"

# One awk pass does the work (a shell loop over a thousand includes is slow on a busy machine). Its
# input: the allow-list's entries ("A FROM TO"), the source files ("F PATH"), then grep's FILE:LINE:TEXT
# lines for every include directive.
entries=
if [ -n "$allow" ]; then
        entries=$(sed -e 's/#.*//' "$allow" | awk -v list="$allow" '
                NF == 0 { next }
                NF != 2 { printf "%s: malformed entry \"%s\" (want: FILE INCLUDED)\n", list, $0 > "/dev/stderr"; exit 2 }
                { print "A " $1 " " $2 }')
fi
{
        [ -z "$entries" ] || printf '%s\n' "$entries"
        find core spec net cmd -type f \( -name '*.c' -o -name '*.h' \) | sort | sed 's/^/F /'
        find core spec net cmd -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z |
                xargs -0 grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' | sed 's/^/I /'
} | awk -v list="$allow" '
function layer(path) {
        if (path ~ /^core\/base\//) return "base"
        if (path ~ /^core\//) return "core"
        if (path ~ /^spec\//) return "spec"
        if (path ~ /^net\//) return "net"
        if (path ~ /^cmd\//) return "cmd"
        return ""
}
BEGIN {
        # What each layer may include.
        reach["base"] = "base"
        reach["spec"] = "base spec"
        reach["net"] = "base net"
        reach["core"] = "base spec net core"
        reach["cmd"] = "base spec net core cmd"
        said["base"] = "base"
        said["spec"] = "base and spec"
        said["net"] = "base and net"
        said["core"] = "base, spec, net and core"
}
$1 == "A" { allowed[$2 " " $3] = 1; next }
$1 == "F" { exists[$2] = 1; next }
$1 == "I" {
        line = substr($0, 3)
        file = line; sub(/:.*/, "", file)
        rest = substr(line, length(file) + 2)
        num = rest; sub(/:.*/, "", num)
        inc = rest; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
        from = layer(file); to = layer(inc)
        if (to == "" || !(inc in exists))
                msg = sprintf("includes \"%s\", which is not a file of any layer (write includes from the top of the tree)", inc)
        else if (index(" " reach[from] " ", " " to " "))
                next
        else
                msg = sprintf("\"%s\" is in the %s layer, above or beside %s, which includes only %s", inc, to, from, said[from])
        if ((file " " inc) in allowed) { used[file " " inc] = 1; next }
        printf "%s:%s: %s\n", file, num, msg
        bad = 1
}
END {
        for (e in allowed)
                if (!(e in used)) {
                        printf "%s: \"%s\" is allowed but no longer included: remove the entry\n", list, e
                        bad = 1
                }
        exit bad
}'
