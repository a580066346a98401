#include <stdarg.h>
#include <stdio.h>

#include "core/base/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_level(enum log_level level)
{
        max_level = level;
}

enum log_level log_get_level(void)
{
        return max_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
        static const char *const prefix[] = {
            [LOG_LEVEL_ERROR] = "error: ",
            [LOG_LEVEL_WARNING] = "warning: ",
            [LOG_LEVEL_INFO] = "",
            [LOG_LEVEL_DEBUG] = "debug: ",
        };
        if (level > max_level)
                return;
        va_list ap;
        va_start(ap, fmt);
        fputs(prefix[level], stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}
