# Fuzz targets: built with libFuzzer under --enable-fuzzers (CC=clang); otherwise each target is linked
# with a small driver that replays its corpus, so `make check` runs every saved input with gcc as well.
EXTRA_DIST += tests/fuzz/replay.c
