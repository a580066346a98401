/* The config hash the reconciler compares to decide whether a container must be recreated. */
#pragma once

#include "spec/model.h"

/* The version prefix of the hashed text. Bump it only when a change of the serialization is meant to
 * recreate every container. */
#define SPEC_HASH_VERSION "stack-hash-v1"

/* SHA-256, as 64 lowercase hex digits, of SPEC_HASH_VERSION "\n" and the service's canonical JSON (sorted
 * keys, no whitespace) without scale/replicas, depends_on, profiles, build, pull_policy, env_file paths and
 * x-*, so scaling, reordering dependencies or upgrading stack does not recreate containers. Returns 0 or
 * -EIO. */
int spec_service_hash(const struct stack_project *p, const struct stack_service *s, char ret[65]);
/* The text that is hashed, for debugging and tests. */
char *spec_service_hash_input(const struct stack_project *p, const struct stack_service *s);
