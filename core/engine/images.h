/* Making a project's images present before anything is created: per service, compose's pull_policy (or
 * `up --pull` / `pull --policy` over it) decides whether to pull, build or use what the store has; the
 * pulls run in parallel, each image once however many services name it, and every failure is reported
 * together. */
#pragma once

#include <stdbool.h>

#include "core/base/error.h"
#include "core/image/image.h"
#include "core/image/registry.h"
#include "spec/model.h"

/* Builds the image of a service with `build:` (provided by the builder); NULL: building is unavailable. */
typedef int (*images_build_fn)(void *userdata, const struct stack_service *svc, struct stack_error *err);

enum images_decision {
        IMAGES_USE, /* the store has it and the policy does not ask for more */
        IMAGES_PULL,
        IMAGES_BUILD,
        IMAGES_MISSING, /* absent and the policy forbids getting it (never) */
};

struct images_options {
        /* "always", "missing", "never" (or any pull_policy value) over every service's own; NULL: each
         * service's pull_policy, "missing" when unset. */
        const char *policy;
        char **services;      /* NULL: every service of the project */
        bool include_deps;    /* with services: also those they depend on, transitively */
        const char *platform; /* over every service's platform: */
        bool ignore_failures; /* report failed pulls as warnings and go on */
        int parallel;         /* images pulled at once; <= 0: 4 */
        struct registry_options registry;
        images_build_fn build;
        void *build_userdata;
};

/* What to do for one service, given whether the store has its image and when it was last pulled
 * (realtime µs, 0: never). Pure, for the unit tests. */
int images_decide(const struct stack_service *svc, const char *policy_override, bool present,
                  uint64_t pulled_at, uint64_t now, enum images_decision *ret, struct stack_error *err);

int images_ensure(struct image_store *s, const struct stack_project *p, const struct images_options *o,
                  struct stack_error *err);
