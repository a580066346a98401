/* A small hash map from borrowed strings to indices, so that duplicate detection in large mappings and
 * sequences stays linear: a hostile file with 100 000 keys must not take minutes to reject. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/util.h"

struct strset {
        const char **keys; /* borrowed: they must outlive the set */
        size_t *vals;
        size_t cap, n;
};

static inline uint64_t strset_hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static inline bool strset_get(const struct strset *set, const char *key, size_t *ret)
{
        if (set->cap == 0)
                return false;
        for (size_t i = strset_hash(key) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
                if (!set->keys[i])
                        return false;
                if (strcmp(set->keys[i], key) == 0) {
                        if (ret)
                                *ret = set->vals[i];
                        return true;
                }
        }
}

/* Adds or replaces key -> val. */
static inline void strset_put(struct strset *set, const char *key, size_t val)
{
        if ((set->n + 1) * 2 > set->cap) {
                struct strset bigger = {.cap = set->cap ? set->cap * 2 : 16};
                bigger.keys = xcalloc(bigger.cap, sizeof(char *));
                bigger.vals = xcalloc(bigger.cap, sizeof(size_t));
                for (size_t i = 0; i < set->cap; i++)
                        if (set->keys[i])
                                strset_put(&bigger, set->keys[i], set->vals[i]);
                free(set->keys);
                free(set->vals);
                *set = bigger;
        }
        size_t i = strset_hash(key) & (set->cap - 1);
        while (set->keys[i] && strcmp(set->keys[i], key) != 0)
                i = (i + 1) & (set->cap - 1);
        if (!set->keys[i])
                set->n++;
        set->keys[i] = key;
        set->vals[i] = val;
}

static inline void strset_free(struct strset *set)
{
        free(set->keys);
        free(set->vals);
        *set = (struct strset){0};
}
