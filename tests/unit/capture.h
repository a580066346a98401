/* Captures what the code under test writes to stderr (warnings go there through core/base/log.h), so tests can
 * assert on the exact warnings a user would see. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/fileio.h"

struct capture {
        FILE *file;
        int saved_fd;
};

static inline void capture_start(struct capture *c)
{
        fflush(stderr);
        c->file = tmpfile();
        if (!c->file)
                abort();
        c->saved_fd = dup(STDERR_FILENO);
        dup2(fileno(c->file), STDERR_FILENO);
}

/* Restores stderr and returns what was written meanwhile (never NULL). */
static inline char *capture_end(struct capture *c)
{
        fflush(stderr);
        dup2(c->saved_fd, STDERR_FILENO);
        close(c->saved_fd);
        char *data = NULL;
        size_t len;
        rewind(c->file);
        if (read_full_fd(fileno(c->file), &data, &len) < 0)
                abort();
        fclose(c->file);
        return data;
}

static inline size_t count_substr(const char *haystack, const char *needle)
{
        size_t n = 0;
        for (const char *p = haystack; (p = strstr(p, needle)); p++)
                n++;
        return n;
}
