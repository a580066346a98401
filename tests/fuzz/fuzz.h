/* The libFuzzer entry point every fuzz-*.c defines. Built with -fsanitize=fuzzer it is driven by libFuzzer;
 * linked with replay.c it is fed each saved input of tests/fuzz/corpus/<target>/ by `make check`. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
