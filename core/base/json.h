/* cJSON in stack: a cleanup attribute for trees and typed getters that treat a missing or mistyped member
 * as absent. */
#pragma once

#include <cjson/cJSON.h>

#include "core/base/cleanup.h"
#include "core/base/error.h"
#include "core/base/util.h"

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

/* The strings of an array (other items skipped); an empty list when `a` is not an array. Never NULL. */
static inline char **json_strv(const cJSON *a)
{
        char **l = xcalloc(1, sizeof(char *));
        const cJSON *it;
        cJSON_ArrayForEach(it, a) if (cJSON_IsString(it)) strv_push(&l, it->valuestring);
        return l;
}

/* The member's strings, or NULL when it is missing or not an array (unset, as opposed to empty). */
static inline char **json_get_strv(const cJSON *j, const char *key)
{
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsArray(a) ? json_strv(a) : NULL;
}

/* A new array of the strings. */
static inline cJSON *json_from_strv(char *const *l)
{
        cJSON *a = cJSON_CreateArray();
        for (char *const *s = l; s && *s; s++)
                cJSON_AddItemToArray(a, cJSON_CreateString(*s));
        return a;
}

/* Writes j (indented) to path atomically with mode 0600, creating its directory. */
int json_write_file(const char *path, const cJSON *j, struct stack_error *err);
/* Reads and parses a whole JSON file; EBADMSG when it is not JSON. */
int json_read_file(const char *path, cJSON **ret, struct stack_error *err);
