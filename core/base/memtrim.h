/* Giving back the pages of mapped files that a long-running process touched once and no longer needs.
 *
 * A fresh process maps far more of its program and libraries than it keeps using: the dynamic loader reads
 * every library's symbol tables, constructors run (libnl-route registers its ~100 object types), command
 * parsing and setup run once, and each page fault maps 64 KiB around the page it needed (the kernel's
 * fault-around). Those pages count in the process's RSS and PSS for as long as they stay mapped. */
#pragma once

#include <stddef.h>

/* Unmaps the resident pages of every private, read-only, file-backed mapping of this process that holds no
 * page of its own (smaps "Anonymous: 0"), with MADV_DONTNEED. For such a mapping every page is the file's,
 * shared with the page cache: nothing is lost, the next access maps the page back from the cache. Mappings
 * with copied-on-write pages (relocated RELRO data) and all writable or anonymous memory are left alone.
 * Only safe while no other thread of the process runs. Returns the number of bytes of resident pages
 * released, or a negative errno when /proc/self/smaps cannot be read. */
long memtrim_file_mappings(void);
