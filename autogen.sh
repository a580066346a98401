#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
# libtoolize writes its macros into m4/ (AC_CONFIG_MACRO_DIR), which a fresh clone does not have yet:
# without it aclocal warns that it cannot open the directory.
mkdir -p m4
autoreconf --force --install --warnings=all,no-portability
echo "now run ./configure"
