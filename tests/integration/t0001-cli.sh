#!/bin/bash
# The CLI's contract: version, help, usage errors and exit codes.
. "$STACK_SRCDIR/tests/integration/lib.sh"

out=$(stack --version)
like "$out" "stack version" "--version prints the version"
ok "help exits 0" stack help
ok "--help exits 0" stack --help
stack no-such-command >/dev/null 2>&1
is "$?" 2 "an unknown command is a usage error (exit 2)"
stack --bogus-flag >/dev/null 2>&1
is "$?" 2 "an unknown option is a usage error (exit 2)"
assert_no_residue cli
done_testing
