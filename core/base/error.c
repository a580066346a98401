#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/error.h"

int stack_error_setv(struct stack_error *err, int code, const char *fmt, va_list ap)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EINVAL;
        if (!err || err->msg)
                return -code;
        err->code = code;
        if (vasprintf(&err->msg, fmt, ap) < 0)
                err->msg = NULL;
        return -code;
}

int stack_error_set(struct stack_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = stack_error_setv(err, code, fmt, ap);
        va_end(ap);
        return r;
}

int stack_error_errno(struct stack_error *err, int code, const char *fmt, ...)
{
        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        char *head = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&head, fmt, ap);
        va_end(ap);
        if (r < 0)
                return stack_error_set(err, code, "%s", strerror(code));
        r = stack_error_set(err, code, "%s: %s", head, strerror(code));
        free(head);
        return r;
}

int stack_error_prefix(struct stack_error *err, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        char *head = NULL, *joined = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&head, fmt, ap);
        va_end(ap);
        if (r >= 0 && asprintf(&joined, "%s: %s", head, err->msg ? err->msg : strerror(err->code)) >= 0) {
                free(err->msg);
                err->msg = joined;
        }
        free(head);
        if (err->code == 0)
                err->code = EINVAL;
        return -err->code;
}

void stack_error_clear(struct stack_error *err)
{
        if (!err)
                return;
        free(err->msg);
        err->msg = NULL;
        err->code = 0;
}
