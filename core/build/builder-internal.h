/* What the builder's files share: the state of one build and of its stages, and the helpers the steps use.
 * Not for use outside core/build/builder*.c. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/base/digest.h"
#include "core/base/error.h"
#include "core/build/builder.h"
#include "core/build/dockerfile.h"
#include "core/build/ignore.h"
#include "core/image/image.h"
#include "core/runtime/container.h"
#include "spec/model.h"

/* What a stage has built so far. */
struct stage_state {
        struct image_layer_ref *layers;
        size_t n_layers;
        cJSON *image;                /* the image config object: architecture, os, config, history */
        char key[DIGEST_STRING_MAX]; /* the cache key of everything up to here */
        struct stack_kvlist args;    /* ARGs declared in the stage, with their values */
        bool cmd_set;                /* CMD given in this stage (ENTRYPOINT then keeps it) */
        bool built;
        bool building; /* to refuse stages that copy from each other */
};

struct build {
        struct image_store *store;
        struct container_host *host;
        const struct builder_request *rq;
        struct dockerfile *df;
        struct stack_kvlist meta; /* global ARGs with their values */
        struct stage_state *stages;
        char *tmp;      /* scratch directory for layer tars */
        char *cache;    /* <root>/build-cache */
        char *ctx_real; /* the context, resolved */
        struct ignore *ignore;
        unsigned step;
        unsigned counter;
};
struct step_container {
        struct build *b;
        char *name;
        struct stack_service svc;
        char **layers;
        bool created;
};

/* builder.c: stage state, progress lines, the image config and its history, the step cache, step
 * containers. */
void stage_state_done(struct stage_state *st);
void build_progress(const struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
cJSON *build_config_obj(struct stage_state *st);
void build_set_item(cJSON *o, const char *key, cJSON *v);
void build_add_history(struct stage_state *st, const char *created_by, bool empty_layer);
void build_chain_key(struct stage_state *st, const char *what);
void build_stage_env(struct stage_state *st, struct stack_kvlist *ret);
bool build_cache_load(struct build *b, const char *key, struct stage_state *st);
void build_cache_store(struct build *b, const char *key, const struct stage_state *st);
void step_container_done(struct step_container *c);
int step_container_prepare(struct build *b, struct stage_state *st, struct step_container *c,
                           struct stack_error *err);
struct container_spec step_container_spec(const struct step_container *c);
int build_finish_step(struct build *b, struct stage_state *st, const char *name,
                      const struct df_instruction *in, struct stack_error *err);
/* builder-copy.c: COPY and ADD. */
char *build_clean_rel(const char *p);
int build_copy_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                    struct stack_error *err);
/* builder-meta.c: the config-only instructions. */
cJSON *build_object_item(cJSON *cfg, const char *key);
int build_arg_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                   struct stack_error *err);
int build_metadata_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                        struct stack_error *err);
/* builder.c: builds stage i (and, first, the stages it copies from). */
int build_stage(struct build *b, size_t i, struct stack_error *err);
