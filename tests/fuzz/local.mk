# Fuzz targets: built with libFuzzer under --enable-fuzzers (CC=clang); otherwise each target is linked
# with a small driver that replays its corpus, so `make check` runs every saved input with gcc as well.
#
# A target is tests/fuzz/fuzz-<name>.c defining LLVMFuzzerTestOneInput (tests/fuzz/fuzz.h), with its
# corpus in tests/fuzz/corpus/<name>/. Registering one takes the replay-<name> lines below and, inside
# `if FUZZERS`, the fuzz-<name> lines. Run a fuzzer from the build directory, for example
#   tests/fuzz/fuzz-dotenv -max_total_time=300 new-inputs/ $(srcdir)/tests/fuzz/corpus/dotenv
# (new inputs are written to the first directory; keep the saved corpus read-only that way).
EXTRA_DIST += tests/fuzz/replay.c tests/fuzz/fuzz.h tests/fuzz/corpus

check_PROGRAMS += \
	tests/fuzz/replay-dotenv \
	tests/fuzz/replay-interpolate \
	tests/fuzz/replay-loader \
	tests/fuzz/replay-dns \
	tests/fuzz/replay-layer \
	tests/fuzz/replay-dockerfile
TESTS += \
	tests/fuzz/replay-dotenv \
	tests/fuzz/replay-interpolate \
	tests/fuzz/replay-loader \
	tests/fuzz/replay-dns \
	tests/fuzz/replay-layer \
	tests/fuzz/replay-dockerfile

tests_fuzz_replay_dotenv_SOURCES = tests/fuzz/fuzz-dotenv.c tests/fuzz/replay.c
tests_fuzz_replay_dotenv_LDADD = $(STACK_LIBS)
tests_fuzz_replay_interpolate_SOURCES = tests/fuzz/fuzz-interpolate.c tests/fuzz/replay.c
tests_fuzz_replay_interpolate_LDADD = $(STACK_LIBS)
tests_fuzz_replay_loader_SOURCES = tests/fuzz/fuzz-loader.c tests/fuzz/replay.c
tests_fuzz_replay_loader_LDADD = $(STACK_LIBS)
tests_fuzz_replay_dns_SOURCES = tests/fuzz/fuzz-dns.c tests/fuzz/replay.c
tests_fuzz_replay_dns_LDADD = $(STACK_LIBS)
tests_fuzz_replay_layer_SOURCES = tests/fuzz/fuzz-layer.c tests/fuzz/replay.c
tests_fuzz_replay_layer_LDADD = $(STACK_LIBS)
tests_fuzz_replay_dockerfile_SOURCES = tests/fuzz/fuzz-dockerfile.c tests/fuzz/replay.c
tests_fuzz_replay_dockerfile_LDADD = $(STACK_LIBS)

if FUZZERS
# Coverage instrumentation for the library too, or libFuzzer would only see the target file. The
# sanitizer coverage runtime comes with -fsanitize=fuzzer-no-link at link time.
AM_CFLAGS += -fsanitize=fuzzer-no-link
AM_LDFLAGS += -fsanitize=fuzzer-no-link
FUZZER_COMPILE_FLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
FUZZER_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer

check_PROGRAMS += \
	tests/fuzz/fuzz-dotenv \
	tests/fuzz/fuzz-interpolate \
	tests/fuzz/fuzz-loader \
	tests/fuzz/fuzz-dns \
	tests/fuzz/fuzz-layer \
	tests/fuzz/fuzz-dockerfile

tests_fuzz_fuzz_dotenv_SOURCES = tests/fuzz/fuzz-dotenv.c
tests_fuzz_fuzz_dotenv_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_dotenv_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_dotenv_LDADD = $(STACK_LIBS)
tests_fuzz_fuzz_interpolate_SOURCES = tests/fuzz/fuzz-interpolate.c
tests_fuzz_fuzz_interpolate_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_interpolate_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_interpolate_LDADD = $(STACK_LIBS)
tests_fuzz_fuzz_loader_SOURCES = tests/fuzz/fuzz-loader.c
tests_fuzz_fuzz_loader_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_loader_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_loader_LDADD = $(STACK_LIBS)
tests_fuzz_fuzz_dns_SOURCES = tests/fuzz/fuzz-dns.c
tests_fuzz_fuzz_dns_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_dns_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_dns_LDADD = $(STACK_LIBS)
tests_fuzz_fuzz_layer_SOURCES = tests/fuzz/fuzz-layer.c
tests_fuzz_fuzz_layer_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_layer_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_layer_LDADD = $(STACK_LIBS)
tests_fuzz_fuzz_dockerfile_SOURCES = tests/fuzz/fuzz-dockerfile.c
tests_fuzz_fuzz_dockerfile_CFLAGS = $(FUZZER_COMPILE_FLAGS)
tests_fuzz_fuzz_dockerfile_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_dockerfile_LDADD = $(STACK_LIBS)
endif
