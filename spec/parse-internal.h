/* Shared between spec/parse.c (the project) and spec/parse-service.c (one service): typed readers of
 * node values that report located errors. Not part of the public interface. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "spec/model.h"
#include "spec/node.h"
#include "spec/parse.h"

struct parse_state {
        const struct spec_parse_context *ctx;
        struct stack_project *project;
        char **warned; /* tier C key names already warned about in this load */
};

/* "services.web.cpu_quota: not supported by stack yet, ignored", once per key name per load. */
void parse_unsupported(struct parse_state *st, const char *key, struct node_mark mark, const char *path);

/* Readers: a NODE_NULL value means "not set" and leaves *ret alone. Scalars of any YAML type are
 * accepted where compose accepts strings (`user: 1000`). */
int parse_string(const struct node *n, const char *path, char **ret, struct stack_error *err);
int parse_bool(const struct node *n, const char *path, bool *ret, struct stack_error *err);
int parse_int(const struct node *n, const char *path, int64_t min, int64_t max, int64_t *ret,
              struct stack_error *err);
int parse_duration(const struct node *n, const char *path, int64_t *ret_usec, struct stack_error *err);
int parse_bytes(const struct node *n, const char *path, int64_t *ret, struct stack_error *err);
int parse_double(const struct node *n, const char *path, double *ret, struct stack_error *err);
/* File modes: octal when written 0NNN or 0oNNN, decimal otherwise. */
int parse_mode(const struct node *n, const char *path, int *ret, struct stack_error *err);
/* A sequence of scalars; with `or_string`, a single scalar is a one-element list. */
int parse_strv(const struct node *n, const char *path, bool or_string, char ***ret, struct stack_error *err);
/* Compose's list_or_dict: a mapping (null values allowed when `allow_unset`, else they become "") or a
 * list of "KEY<sep>VALUE" entries (a bare KEY is unset / "" the same way). Appends to *ret. */
int parse_kvlist(const struct node *n, const char *path, bool allow_unset, struct stack_kvlist *ret,
                 struct stack_error *err);
/* Errors for keys of mapping n outside `allowed` (NULL-terminated); x-* keys are always allowed. */
int parse_check_keys(const struct node *n, const char *path, const char *const *allowed,
                     struct stack_error *err);
int parse_expect(const struct node *n, const char *path, enum node_kind kind, struct stack_error *err);
/* A path relative to the project directory, `~` expanded, made absolute. */
char *parse_resolve_path(const struct parse_state *st, const char *p);
bool parse_is_ip(const char *s, int *ret_family);
/* Docker's rule for container and volume names, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 characters: they
 * become file names under stack's roots. */
bool parse_valid_object_name(const char *s);

int parse_service(struct parse_state *st, const char *name, struct node_mark key_mark, const struct node *n,
                  struct stack_service *s, struct stack_error *err);
/* The develop: section (spec/parse-develop.c), after the rest of service s is parsed; v may be NULL. */
int parse_develop(struct parse_state *st, const struct node *v, const char *service_path,
                  struct stack_service *s, struct stack_error *err);
