/* Helpers for the model tests: YAML text -> model through the real YAML reader and spec_parse_project,
 * with a fixed project name, directory and environment, and stderr captured to assert on warnings. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "spec/model.h"
#include "spec/parse.h"
#include "spec/yaml.h"

#define TEST_DIR "/srv/demo"

static struct stack_kvlist test_env;
static bool test_no_interpolate;

static inline void test_env_init(void)
{
        stack_kvlist_set(&test_env, "HOME", "/home/user");
        stack_kvlist_set(&test_env, "FROM_SHELL", "shell-value");
}

/* Parses `yaml` as compose.yaml of project "demo" in TEST_DIR; NULL on error with *err set. */
static inline struct stack_project *load_model_in(const char *yaml, const char *dir, struct stack_error *err)
{
        _cleanup_node_ struct node *root = NULL;
        if (spec_yaml_parse(yaml, strlen(yaml), "compose.yaml", &root, err) < 0)
                return NULL;
        struct spec_parse_context ctx = {
            .project_name = "demo",
            .working_dir = dir,
            .environment = &test_env,
            .no_interpolate = test_no_interpolate,
        };
        struct stack_project *p = NULL;
        if (spec_parse_project(root, &ctx, &p, err) < 0)
                return NULL;
        return p;
}

static inline struct stack_project *load_model(const char *yaml, struct stack_error *err)
{
        return load_model_in(yaml, TEST_DIR, err);
}

/* The error message of a file that must fail ("" when it unexpectedly loaded); caller frees. */
static inline char *load_error(const char *yaml)
{
        struct stack_error err = {0};
        struct stack_project *p = load_model(yaml, &err);
        if (p) {
                stack_project_free(p);
                return xstrdup("");
        }
        char *msg = err.msg ? xstrdup(err.msg) : xstrdup("(no message)");
        stack_error_clear(&err);
        return msg;
}

struct stderr_capture {
        FILE *file;
        int saved;
};

static inline void stderr_capture_begin(struct stderr_capture *c)
{
        fflush(stderr);
        c->file = tmpfile();
        if (!c->file)
                abort();
        c->saved = dup(STDERR_FILENO);
        dup2(fileno(c->file), STDERR_FILENO);
}

static inline char *stderr_capture_end(struct stderr_capture *c)
{
        char *data = NULL;
        size_t len;
        fflush(stderr);
        dup2(c->saved, STDERR_FILENO);
        close(c->saved);
        rewind(c->file);
        if (read_full_fd(fileno(c->file), &data, &len) < 0)
                abort();
        fclose(c->file);
        return data;
}

static inline size_t count_substr(const char *h, const char *n)
{
        size_t count = 0;
        for (const char *p = h; (p = strstr(p, n)); p += strlen(n))
                count++;
        return count;
}
