/* Files and paths. State is always written atomically: temp file, fsync, rename. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/base/error.h"

/* Reads a whole file; *ret_data is NUL-terminated. */
int read_full_file(const char *path, char **ret_data, size_t *ret_len, struct stack_error *err);
int read_full_fd(int fd, char **ret_data, size_t *ret_len);
/* Writes data to path through a temporary file in the same directory, fsyncs and renames it in place. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct stack_error *err);
int mkdir_p(const char *path, mode_t mode, struct stack_error *err);
/* Removes a tree without crossing into other file systems (a forgotten mount is an error, not a loss). */
int rm_rf(const char *path, struct stack_error *err);

/* Joins with exactly one '/' between parts; an absolute `b` does not replace `a`. */
char *path_join(const char *a, const char *b);
/* Makes p absolute against base and removes "." and ".." lexically. */
char *path_absolute(const char *base, const char *p);
char *path_dirname(const char *p);
const char *path_basename(const char *p);
bool path_exists(const char *p);
bool path_is_dir(const char *p);
