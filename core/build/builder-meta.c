/* The instructions that change only the image config (ENV, LABEL, CMD, ENTRYPOINT, HEALTHCHECK, ARG, USER,
 * WORKDIR, ...): each records history and advances the cache key. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/build/builder.h"
#include "core/build/dockerfile.h"
#include "core/build/ignore.h"
#include "core/build/layertar.h"
#include "core/image/image.h"
#include "core/image/layer.h"
#include "core/image/reference.h"
#include "core/image/registry.h"
#include "core/runtime/user.h"
#include "spec/units.h"
#include "core/build/builder-internal.h"

static void env_set(cJSON *cfg, const char *key, const char *value)
{
        cJSON *env = cJSON_GetObjectItemCaseSensitive(cfg, "Env");
        if (!cJSON_IsArray(env)) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, "Env");
                env = cJSON_AddArrayToObject(cfg, "Env");
        }
        _cleanup_free_ char *entry = xasprintf("%s=%s", key, value);
        size_t klen = strlen(key);
        int i = 0;
        cJSON *it;
        cJSON_ArrayForEach(it, env)
        {
                if (cJSON_IsString(it) && strncmp(it->valuestring, key, klen) == 0 &&
                    it->valuestring[klen] == '=') {
                        cJSON_ReplaceItemInArray(env, i, cJSON_CreateString(entry));
                        return;
                }
                i++;
        }
        cJSON_AddItemToArray(env, cJSON_CreateString(entry));
}

cJSON *build_object_item(cJSON *cfg, const char *key)
{
        cJSON *o = cJSON_GetObjectItemCaseSensitive(cfg, key);
        if (!cJSON_IsObject(o)) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
                o = cJSON_AddObjectToObject(cfg, key);
        }
        return o;
}

static int command_json(struct stage_state *st, const struct df_instruction *in, cJSON **ret)
{
        if (in->exec_form) {
                *ret = json_from_strv(in->argv);
                return 0;
        }
        const cJSON *shell = cJSON_GetObjectItemCaseSensitive(build_config_obj(st), "Shell");
        cJSON *a = cJSON_IsArray(shell) && cJSON_GetArraySize(shell) ? cJSON_Duplicate(shell, true) : NULL;
        if (!a) {
                a = cJSON_CreateArray();
                cJSON_AddItemToArray(a, cJSON_CreateString("/bin/sh"));
                cJSON_AddItemToArray(a, cJSON_CreateString("-c"));
        }
        cJSON_AddItemToArray(a, cJSON_CreateString(in->rest));
        *ret = a;
        return 0;
}

static int healthcheck_step(struct stage_state *st, const struct df_instruction *in, struct stack_error *err)
{
        cJSON *cfg = build_config_obj(st);
        cJSON *h = cJSON_CreateObject();
        if (strncasecmp(in->rest, "NONE", 4) == 0) {
                cJSON *t = cJSON_AddArrayToObject(h, "Test");
                cJSON_AddItemToArray(t, cJSON_CreateString("NONE"));
                build_set_item(cfg, "Healthcheck", h);
                return 0;
        }
        static const char *const durations[][2] = {{"interval", "Interval"},
                                                   {"timeout", "Timeout"},
                                                   {"start-period", "StartPeriod"},
                                                   {"start-interval", "StartInterval"}};
        for (size_t i = 0; i < ELEMENTSOF(durations); i++) {
                const struct stack_kv *f = stack_kvlist_get(&in->flags, durations[i][0]);
                if (!f)
                        continue;
                int64_t usec;
                if (!f->value || units_parse_duration(f->value, &usec) < 0 || usec < 0) {
                        cJSON_Delete(h);
                        return stack_error_set(err, EINVAL, "--%s=%s: invalid duration", durations[i][0],
                                               f->value ? f->value : "");
                }
                cJSON_AddNumberToObject(h, durations[i][1], (double) usec * 1000.0);
        }
        const struct stack_kv *rf = stack_kvlist_get(&in->flags, "retries");
        if (rf) {
                int64_t n;
                if (!rf->value || units_parse_int(rf->value, 0, INT32_MAX, &n) < 0) {
                        cJSON_Delete(h);
                        return stack_error_set(err, EINVAL, "--retries=%s: not a number",
                                               rf->value ? rf->value : "");
                }
                cJSON_AddNumberToObject(h, "Retries", (double) n);
        }
        const char *cmd = in->rest + 3;
        while (isspace((unsigned char) *cmd))
                cmd++;
        cJSON *t = cJSON_CreateArray();
        char **argv = NULL;
        _cleanup_json_ cJSON *j = *cmd == '[' ? cJSON_Parse(cmd) : NULL;
        if (cJSON_IsArray(j)) {
                argv = json_strv(j);
                cJSON_AddItemToArray(t, cJSON_CreateString("CMD"));
                STRV_FOREACH (a, argv)
                        cJSON_AddItemToArray(t, cJSON_CreateString(*a));
                strv_free(argv);
        } else {
                cJSON_AddItemToArray(t, cJSON_CreateString("CMD-SHELL"));
                cJSON_AddItemToArray(t, cJSON_CreateString(cmd));
        }
        cJSON_AddItemToObject(h, "Test", t);
        build_set_item(cfg, "Healthcheck", h);
        return 0;
}

int build_arg_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                   struct stack_error *err)
{
        struct stack_kvlist env = {0}, kv = {0};
        build_stage_env(st, &env);
        int r = df_key_values(in, b->df->escape, &env, &kv, err);
        stack_kvlist_free(&env);
        for (size_t i = 0; r >= 0 && i < kv.n; i++) {
                const char *k = kv.items[i].key;
                const struct stack_kv *given = b->rq->args ? stack_kvlist_get(b->rq->args, k) : NULL;
                const struct stack_kv *global = stack_kvlist_get(&b->meta, k);
                const char *v = given && given->value ? given->value
                                : kv.items[i].value   ? kv.items[i].value
                                : global              ? global->value
                                                      : NULL;
                stack_kvlist_set(&st->args, k, v);
                _cleanup_free_ char *what = xasprintf("ARG %s=%s", k, v ? v : "(unset)");
                build_chain_key(st, what);
        }
        stack_kvlist_free(&kv);
        return r;
}

int build_metadata_step(struct build *b, struct stage_state *st, const struct df_instruction *in,
                        struct stack_error *err)
{
        cJSON *cfg = build_config_obj(st);
        struct stack_kvlist env = {0};
        build_stage_env(st, &env);
        char esc = b->df->escape;
        int r = 0;
        _cleanup_free_ char *word = NULL;
        _cleanup_strv_free_ char **words = NULL;
        struct stack_kvlist kv = {0};
        switch (in->kind) {
        case DF_ENV:
        case DF_LABEL:
                r = df_key_values(in, esc, &env, &kv, err);
                for (size_t i = 0; r >= 0 && i < kv.n; i++) {
                        if (in->kind == DF_ENV)
                                env_set(cfg, kv.items[i].key, kv.items[i].value);
                        else
                                build_set_item(build_object_item(cfg, "Labels"), kv.items[i].key,
                                               cJSON_CreateString(kv.items[i].value));
                }
                stack_kvlist_free(&kv);
                break;
        case DF_WORKDIR: {
                r = df_word(in->rest, esc, &env, &word, err);
                if (r < 0)
                        break;
                const char *cur = json_get_str(cfg, "WorkingDir");
                _cleanup_free_ char *joined =
                    word[0] == '/' ? xstrdup(word) : xasprintf("%s/%s", isempty(cur) ? "" : cur, word);
                _cleanup_free_ char *clean = build_clean_rel(joined);
                _cleanup_free_ char *abs = streq(clean, ".") ? xstrdup("/") : xasprintf("/%s", clean);
                build_set_item(cfg, "WorkingDir", cJSON_CreateString(abs));
                break;
        }
        case DF_USER:
                r = df_word(in->rest, esc, &env, &word, err);
                if (r >= 0)
                        build_set_item(cfg, "User", cJSON_CreateString(word));
                break;
        case DF_STOPSIGNAL:
                r = df_word(in->rest, esc, &env, &word, err);
                if (r >= 0)
                        build_set_item(cfg, "StopSignal", cJSON_CreateString(word));
                break;
        case DF_EXPOSE:
                r = df_words(in->rest, esc, &env, &words, err);
                STRV_FOREACH (w, r >= 0 ? words : NULL) {
                        _cleanup_free_ char *port = strchr(*w, '/') ? xstrdup(*w) : xasprintf("%s/tcp", *w);
                        for (char *q = port; *q; q++)
                                *q = (char) tolower((unsigned char) *q);
                        build_set_item(build_object_item(cfg, "ExposedPorts"), port, cJSON_CreateObject());
                }
                break;
        case DF_VOLUME:
                if (in->exec_form)
                        words = strv_copy(in->argv);
                else
                        r = df_words(in->rest, esc, &env, &words, err);
                STRV_FOREACH (w, r >= 0 ? words : NULL)
                        build_set_item(build_object_item(cfg, "Volumes"), *w, cJSON_CreateObject());
                break;
        case DF_CMD:
        case DF_ENTRYPOINT: {
                cJSON *cmd;
                command_json(st, in, &cmd);
                build_set_item(cfg, in->kind == DF_CMD ? "Cmd" : "Entrypoint", cmd);
                /* A new ENTRYPOINT drops the base image's CMD, unless this stage set one. */
                if (in->kind == DF_ENTRYPOINT && !st->cmd_set)
                        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "Cmd");
                if (in->kind == DF_CMD)
                        st->cmd_set = true;
                break;
        }
        case DF_SHELL:
                build_set_item(cfg, "Shell", json_from_strv(in->argv));
                break;
        case DF_HEALTHCHECK:
                r = healthcheck_step(st, in, err);
                break;
        case DF_ONBUILD: {
                cJSON *a = cJSON_GetObjectItemCaseSensitive(cfg, "OnBuild");
                if (!cJSON_IsArray(a)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(cfg, "OnBuild");
                        a = cJSON_AddArrayToObject(cfg, "OnBuild");
                }
                cJSON_AddItemToArray(a, cJSON_CreateString(in->rest));
                break;
        }
        case DF_MAINTAINER:
                build_set_item(st->image, "author", cJSON_CreateString(in->rest));
                break;
        default:
                break;
        }
        stack_kvlist_free(&env);
        if (r < 0)
                return r;
        /* The key follows the config, which is what later steps see. */
        _cleanup_free_ char *ctext = cJSON_PrintUnformatted(cfg);
        _cleanup_free_ char *what = xasprintf("%s\n%s", in->text, ctext);
        build_chain_key(st, what);
        build_add_history(st, in->text, true);
        return 0;
}
