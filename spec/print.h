/* The normalized model as data: a cJSON tree shaped like `docker compose config` output (long syntax,
 * resolved paths, explicit defaults), rendered as YAML or JSON for `stack config`, and the canonical input
 * of the config hash. */
#pragma once

#include <cjson/cJSON.h>

#include "spec/model.h"

enum spec_format {
        SPEC_FORMAT_YAML,
        SPEC_FORMAT_JSON,
};

enum {
        /* Leave out what must not cause a recreate: scale/replicas, depends_on, profiles, build,
         * pull_policy, env_file paths (their content is in environment). */
        SPEC_JSON_FOR_HASH = 1 << 0,
};

cJSON *spec_service_to_json(const struct stack_project *p, const struct stack_service *s, unsigned flags);
cJSON *spec_project_to_json(const struct stack_project *p);
/* Block-style YAML for a JSON tree; object keys in the tree's order. */
char *spec_json_to_yaml(const cJSON *j);
/* JSON indented by two spaces, as docker compose prints it, ending with a newline. */
char *spec_json_pretty(const cJSON *j);
/* The whole project as text, ending with a newline. */
char *spec_project_format(const struct stack_project *p, enum spec_format format);
/* Sorts every object's keys, recursively (for canonical serializations). */
void spec_json_sort(cJSON *j);
