/* One error object, set once where the failure happens and given context on the way up.
 *
 * Fallible functions return a negative errno and fill *err only on failure. Callers add context with
 * stack_error_prefix(). Only cmd/ and the supervisor's top level print it. */
#pragma once

#include <stdarg.h>

struct stack_error {
        int code; /* positive errno */
        char *msg;
};

/* Sets *err (if err is non-NULL and still empty) and returns -code. */
int stack_error_set(struct stack_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int stack_error_setv(struct stack_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* As stack_error_set, with ": <strerror(code)>" appended. */
int stack_error_errno(struct stack_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "<prefix>: " to the message; returns -err->code so it can end a function. */
int stack_error_prefix(struct stack_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stack_error_clear(struct stack_error *err);

static inline void stack_error_clearp(struct stack_error *err)
{
        stack_error_clear(err);
}
#define _cleanup_error_ __attribute__((cleanup(stack_error_clearp)))
