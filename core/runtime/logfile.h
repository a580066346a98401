/* Rotation of container logs, without anybody in the data path.
 *
 * A container's stdout and stderr point straight at its live log (`container.log`, opened O_APPEND), so its
 * output never depends on the supervisor (see docs/ARCHITECTURE.md). The supervisor, which watches the log
 * for the time index anyway, moves what the container wrote out to rotated files and then releases that
 * prefix of the live log with fallocate(FALLOC_FL_PUNCH_HOLE): the blocks are freed while every offset
 * stays where it was, so the time index and the readers' positions keep their meaning. Offsets in this
 * module are such "stream offsets": the live log's byte offsets, which only grow.
 *
 *   container.log        the live log: raw output; bytes before `consumed` are a hole
 *   container.log.1..N   rotated files, newest first, in docker's json-file format, one object a line:
 *                        {"log":"text\n","stream":"stdout","time":"2026-12-05T07:25:16.123456789Z"}
 *   container.log.seg    the manifest: `consumed`, and the stream range and inode of each rotated file
 *
 * A pass runs when the live log holds max_size bytes past `consumed`: its complete lines (or max_size bytes
 * of one endless line) become JSON lines in new rotated files of at most max_size bytes each, the oldest
 * beyond max_file - 1 are deleted, the manifest is rewritten, then the prefix is punched. A backlog larger
 * than all the files could keep (a supervisor that was down, or a flood) is cut to the newest part first.
 * On a filesystem without hole punching the live log is truncated instead once all of it is consumed.
 *
 * The "log" strings are exact: invalid UTF-8 bytes are written as \u0080..\u00ff (a valid UTF-8 character
 * is always written as itself), so a line decodes to the very bytes the container wrote and a reader can
 * count stream offsets through a rotated file. The stream is always "stdout": stdout and stderr share one
 * file descriptor, which keeps their order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"

struct logindex;

#define LOGFILE_MANIFEST_SUFFIX ".seg"
#define LOGFILE_MAX_SEGMENTS 1000

struct logfile_segment {
        uint64_t ino;
        uint64_t start, end; /* the stream range it holds */
};

struct logfile_manifest {
        uint64_t consumed; /* the stream offset where the live log's content starts */
        uint64_t base;     /* the stream offset of the live log's byte 0: 0 unless it had to be truncated */
        struct logfile_segment *segs; /* newest first: segs[k] is <log>.<k+1> */
        size_t n;
};

/* Reads <log>.seg: an empty manifest (nothing rotated) when there is none. */
int logfile_manifest_read(const char *log_path, struct logfile_manifest *ret);
void logfile_manifest_done(struct logfile_manifest *m);
/* <log>.<k> for segs[k - 1] (newly allocated). */
char *logfile_segment_path(const char *log_path, size_t k);

/* ---- rotation (the supervisor) ---- */

struct logfile_rotator;

int logfile_rotator_new(const char *log_path, uint64_t max_size, int max_file, struct logfile_rotator **ret,
                        struct stack_error *err);
void logfile_rotator_free(struct logfile_rotator *r);
/* Rotates if the live log has grown past max_size; ix gives the lines' times (it is refreshed here).
 * *ret_consumed is the new start of the live log's content (the index may forget what lies before). */
int logfile_rotate(struct logfile_rotator *r, struct logindex *ix, uint64_t *ret_consumed,
                   struct stack_error *err);

/* ---- one JSON line ---- */

/* Appends {"log":...,"stream":"stdout","time":...} and its newline to buf (grown with realloc). */
void logfile_encode_line(char **buf, size_t *len, size_t *cap, const char *data, size_t n, int64_t time_ns);
/* Decodes one line of a rotated file (without its newline): the log bytes (newly allocated, exact) and
 * the time. -EINVAL when it is not one of ours. */
int logfile_decode_line(const char *line, size_t n, char **ret_data, size_t *ret_len, int64_t *ret_time);
