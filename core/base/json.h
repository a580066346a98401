/* cJSON in stack: a cleanup attribute for trees and typed getters that treat a missing or mistyped member
 * as absent. */
#pragma once

#include <cjson/cJSON.h>

#include "core/base/cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

/* The member's string, or NULL when it is missing or not a string. */
static inline const char *json_get_str(const cJSON *j, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The member's number, or fallback when it is missing or not a number. */
static inline double json_get_num(const cJSON *j, const char *key, double fallback)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}
