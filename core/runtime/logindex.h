/* When each byte of a container's log was written: a sidecar time index next to the log file.
 *
 * A container's stdout and stderr point straight at its log file, so its output survives the supervisor
 * (see docs/ARCHITECTURE.md): nobody is in the data path to stamp lines. Instead the supervisor watches each
 * log with inotify and, whenever the file has grown, appends a record to `<log>.idx`:
 *
 *     { u64 end, u64 realtime_ns }   "every byte before offset `end` was written no later than realtime_ns"
 *
 * at most one per millisecond per file. A byte's time is that of the first record whose end lies beyond it,
 * so a line is stamped with the time by which its first byte had been written. Offsets and times only grow.
 * A supervisor that starts or adopts a container first records the log's size with the log's modification
 * time: output written while no supervisor ran is stamped with the time of the last write before the
 * adoption (exact for that last write, later than the truth for earlier ones). Bytes past the last record
 * (not indexed yet, or no supervisor running now) get the log's current modification time. The kernel takes
 * mtimes from a coarse clock, so those may be early by a clock tick (a few ms). The file starts with a
 * header naming the log's inode, so an index left beside a recreated log is recognised as foreign and
 * started over. Records are in host byte order: the index never leaves the host.
 *
 * The same module parses and prints the times `stack logs` takes and shows (--since, --until, -t). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "core/base/error.h"

#define LOGINDEX_SUFFIX ".idx"
/* Minimum distance between two records of one log: bounds the index's growth for a chatty container. */
#define LOGINDEX_MIN_INTERVAL_USEC 1000ULL
/* "2026-11-23T21:00:00.123456789Z" and its NUL, with room to spare for any year. */
#define LOGINDEX_TIME_MAX 64

struct logindex_record {
        uint64_t end;
        uint64_t realtime_ns;
};

/* <log_path>.idx (newly allocated). */
char *logindex_path(const char *log_path);

/* ---- writing (the supervisor) ---- */

struct logindex_writer;

/* Opens (or starts over) the index of the log at log_path, which must exist, and records its current size:
 * what it holds was written no later than the log's modification time. */
int logindex_writer_open(const char *log_path, struct logindex_writer **ret, struct stack_error *err);
/* Appends a record if the log has grown since the last one. */
int logindex_writer_mark(struct logindex_writer *w, struct stack_error *err);
void logindex_writer_free(struct logindex_writer *w);

/* A writer driven by inotify on an sd-event loop: marks the log whenever it has grown, at most once per
 * LOGINDEX_MIN_INTERVAL_USEC (a write seen sooner is marked when the interval is over, never dropped). While
 * a mark is due the inotify watch is off, so a container writing line by line costs one wakeup per interval,
 * not one per write (measured: 2% of a CPU instead of 44% for a shell loop echoing 3 MB/s, on a loaded
 * 2-core VM, where the records then came every ~12 ms rather than every ~1.5 ms). */
struct logindex_watch;

int logindex_watch_new(sd_event *e, const char *log_path, struct logindex_watch **ret,
                       struct stack_error *err);
/* Called after each mark (the log has grown): where the supervisor rotates the log. */
typedef void (*logindex_marked_fn)(void *userdata);
void logindex_watch_on_mark(struct logindex_watch *w, logindex_marked_fn fn, void *userdata);
/* Releases the records that only describe bytes before `before` (rotated away): they are punched out of
 * the index file, whose offsets stay as they are, so that a long-running log's index stays small. */
void logindex_watch_trim(struct logindex_watch *w, uint64_t before);
/* Records what has grown since the last mark, then stops watching. NULL is fine. */
void logindex_watch_free(struct logindex_watch *w);

/* ---- reading (stack logs) ---- */

struct logindex {
        struct logindex_record *recs;
        size_t n, cap;
        dev_t dev;
        ino_t ino;
        off_t idx_read;  /* bytes of the index file consumed so far */
        int64_t tail_ns; /* the time of bytes past the last record */
};

/* Loads, or brings up to date, the index of the log open at log_fd. Call it after reading the log's bytes
 * to stamp: the time given to bytes past the last record comes from the log's mtime at this call. A
 * missing, foreign or unreadable index leaves only that. Never fails. */
void logindex_refresh(struct logindex *ix, const char *log_path, int log_fd);
/* Drops the records of bytes before `before` from memory (what a long-lived reader no longer needs). */
void logindex_forget(struct logindex *ix, uint64_t before);
/* The time (ns since the epoch) by which the byte at offset had been written. */
int64_t logindex_time(const struct logindex *ix, uint64_t offset);
void logindex_done(struct logindex *ix);

/* ---- times ---- */

/* Parses a --since/--until value as docker does: a duration before now_ns ("42m", "1h30m", "1.5h",
 * "300ms"), an RFC 3339 time ("2026-11-23", "2026-11-23T21:00", "2026-11-23T21:00:00.5+01:00"; local time
 * without a zone) or a Unix timestamp ("1700000000", "1700000000.25"). Returns -EINVAL on anything else. */
int logindex_parse_time(const char *s, int64_t now_ns, int64_t *ret_ns);
/* Formats ns since the epoch as RFC 3339 in UTC with nanoseconds, as `docker logs -t`. */
char *logindex_format_time(int64_t ns, char buf[static LOGINDEX_TIME_MAX]);
int64_t logindex_now_ns(void);
