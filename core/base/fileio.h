/* Files and paths. State is always written atomically: temp file, fsync, rename. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/base/error.h"

/* Reads a whole file; *ret_data is NUL-terminated. */
int read_full_file(const char *path, char **ret_data, size_t *ret_len, struct stack_error *err);
int read_full_fd(int fd, char **ret_data, size_t *ret_len);
/* As read_full_fd, failing with -EFBIG past max bytes instead of reading on. */
int read_full_fd_max(int fd, size_t max, char **ret_data, size_t *ret_len);

/* The most stack reads of a file that a user or a compose file names (compose, .env, env_file, secret and
 * config files, seccomp profiles). */
#define NAMED_FILE_MAX ((size_t) 16 << 20)
#define NAMED_FILE_MAX_TEXT "16 MiB"
/* READ_PIPE_OK: a pipe is accepted too, for files named on the command line (`-f <(...)`). */
#define READ_PIPE_OK 1u
/* Reads a file that a user or a compose file names: only a regular file (or a pipe, with READ_PIPE_OK), at
 * most NAMED_FILE_MAX bytes, so that /dev/zero cannot exhaust memory and a FIFO cannot hang the load; the
 * errors name the file and the limit. */
int read_named_file(const char *path, unsigned flags, char **ret_data, size_t *ret_len,
                    struct stack_error *err);
/* Writes data to path through a temporary file in the same directory, fsyncs and renames it in place. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct stack_error *err);
/* As write_file_atomic without the fsync: a reader sees the old content or the new, never a mix, but a
 * crash may lose the update. For records whose loss costs only time (a cache, a pull time). */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode, struct stack_error *err);
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
