/* Registry credentials from docker's and podman's files and credential helpers; see registry-auth.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/json.h"
#include "core/base/util.h"
#include "core/image/distribution.h"
#include "core/image/registry-auth.h"

extern char **environ;

static void wipe(char *s)
{
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

void registry_credentials_done(struct registry_credentials *c)
{
        free(c->username);
        wipe(c->password);
        wipe(c->identity_token);
        *c = (struct registry_credentials){0};
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *registry_base64_encode(const void *data, size_t n)
{
        const unsigned char *p = data;
        char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = p[i] << 16;
                if (i + 1 < n)
                        v |= p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                *o++ = b64[(v >> 18) & 63];
                *o++ = b64[(v >> 12) & 63];
                *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o = 0;
        return out;
}

int registry_base64_decode(const char *s, char **ret, size_t *ret_len)
{
        size_t n = strlen(s);
        if (n % 4 != 0)
                return -EINVAL;
        char *out = xmalloc(n / 4 * 3 + 1);
        size_t k = 0;
        for (size_t i = 0; i < n; i += 4) {
                unsigned v = 0;
                int pad = 0;
                for (int j = 0; j < 4; j++) {
                        char c = s[i + j];
                        const char *pos = c ? strchr(b64, c) : NULL;
                        if (c == '=' && i + 4 == n && j >= 2) {
                                pad++;
                                v <<= 6;
                                continue;
                        }
                        if (!pos || pad) {
                                free(out);
                                return -EINVAL;
                        }
                        v = (v << 6) | (unsigned) (pos - b64);
                }
                out[k++] = (char) (v >> 16);
                if (pad < 2)
                        out[k++] = (char) (v >> 8);
                if (pad < 1)
                        out[k++] = (char) v;
        }
        out[k] = 0;
        *ret = out;
        if (ret_len)
                *ret_len = k;
        return 0;
}

char *registry_docker_config_path(void)
{
        const char *dir = getenv("DOCKER_CONFIG");
        if (!isempty(dir))
                return path_join(dir, "config.json");
        const char *home = getenv("HOME");
        return path_join(isempty(home) ? "/root" : home, ".docker/config.json");
}

static int load_json_file(const char *path, cJSON **ret, struct stack_error *err)
{
        if (!path_exists(path)) {
                *ret = NULL;
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL, err);
        if (r < 0)
                return r;
        cJSON *j = cJSON_Parse(text);
        explicit_bzero(text, strlen(text));
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return stack_error_set(err, EINVAL, "%s: not a JSON object", path);
        }
        *ret = j;
        return 0;
}

/* The "auths" entry for domain: keyed by the bare domain, or as docker writes some keys, with a scheme
 * and a path ("https://index.docker.io/v1/", "http://localhost:5000"). */
static const cJSON *find_auth_entry(const cJSON *auths, const char *domain)
{
        const char *key = dist_config_key(domain);
        const cJSON *e;
        cJSON_ArrayForEach(e, auths)
        {
                const char *k = e->string;
                if (streq(k, key) || streq(k, domain))
                        return e;
                const char *rest = startswith(k, "https://");
                if (!rest)
                        rest = startswith(k, "http://");
                if (!rest)
                        continue;
                size_t n = strcspn(rest, "/");
                if (strlen(domain) == n && strncmp(rest, domain, n) == 0)
                        return e;
        }
        return NULL;
}

static int creds_from_entry(const cJSON *e, const char *file, struct registry_credentials *ret,
                            struct stack_error *err)
{
        const char *auth = json_get_str(e, "auth");
        const char *idt = json_get_str(e, "identitytoken");
        struct registry_credentials c = {0};
        if (!isempty(auth)) {
                _cleanup_free_ char *dec = NULL;
                if (registry_base64_decode(auth, &dec, NULL) < 0 || !strchr(dec, ':')) {
                        if (dec)
                                explicit_bzero(dec, strlen(dec));
                        return stack_error_set(err, EINVAL,
                                               "%s: entry \"%s\": \"auth\" is not base64 of user:password",
                                               file, e->string);
                }
                char *colon = strchr(dec, ':');
                c.username = xstrndup(dec, colon - dec);
                c.password = xstrdup(colon + 1);
                explicit_bzero(dec, strlen(dec));
        } else if (json_get_str(e, "username") && json_get_str(e, "password")) {
                c.username = xstrdup(json_get_str(e, "username"));
                c.password = xstrdup(json_get_str(e, "password"));
        }
        if (!isempty(idt))
                c.identity_token = xstrdup(idt);
        if (!c.username && !c.identity_token)
                return 0;
        *ret = c;
        return 1;
}

/* Runs `docker-credential-NAME VERB` (the docker-credential-helpers protocol) with input on its stdin; its
 * stdout in *ret_out (NUL-terminated), its wait status in *ret_status. */
static int helper_run(const char *name, const char *verb, const char *input, char **ret_out, size_t *ret_len,
                      int *ret_status, struct stack_error *err)
{
        _cleanup_free_ char *prog = xasprintf("docker-credential-%s", name);
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) < 0)
                return stack_error_errno(err, errno, "%s: pipe", prog);
        if (pipe2(out, O_CLOEXEC) < 0) {
                close(in[0]);
                close(in[1]);
                return stack_error_errno(err, errno, "%s: pipe", prog);
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        char *argv[] = {prog, (char *) verb, NULL};
        pid_t pid;
        int r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]);
        close(out[1]);
        if (r != 0) {
                close(in[1]);
                close(out[0]);
                return stack_error_errno(err, r, "credential helper %s", prog);
        }
        /* The helper reads all of its input before it answers; a short write means it exited early, which
         * its status reports. */
        ssize_t w = write(in[1], input, strlen(input));
        (void) w;
        close(in[1]);
        int rr = read_full_fd(out[0], ret_out, ret_len);
        close(out[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (rr < 0)
                return stack_error_errno(err, -rr, "credential helper %s", prog);
        *ret_status = status;
        return 0;
}

static bool helper_succeeded(int status)
{
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* docker-credential-NAME get: the server on stdin, {"Username":..,"Secret":..} on stdout. */
static int creds_from_helper(const char *name, const char *domain, struct registry_credentials *ret,
                             struct stack_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int status = 0;
        int r = helper_run(name, "get", dist_config_key(domain), &data, &len, &status, err);
        if (r < 0)
                return stack_error_prefix(err, "credentials for %s", domain);
        if (!helper_succeeded(status)) {
                /* "credentials not found in native keychain" is how helpers say "none". */
                if (data && strstr(data, "not found"))
                        return 0;
                return stack_error_set(err, EIO, "credential helper docker-credential-%s failed for %s", name,
                                       domain);
        }
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(data ? data : "", len);
        if (data)
                explicit_bzero(data, len);
        const char *user = json_get_str(j, "Username"), *secret = json_get_str(j, "Secret");
        if (!user || !secret)
                return stack_error_set(err, EINVAL,
                                       "credential helper docker-credential-%s: answer without Username and Secret",
                                       name);
        struct registry_credentials c = {0};
        /* A helper returns an identity token as user "<token>". */
        if (streq(user, "<token>"))
                c.identity_token = xstrdup(secret);
        else {
                c.username = xstrdup(user);
                c.password = xstrdup(secret);
        }
        *ret = c;
        return 1;
}

static int lookup_docker(const char *domain, struct registry_credentials *ret, struct stack_error *err)
{
        _cleanup_free_ char *path = registry_docker_config_path();
        _cleanup_json_ cJSON *cfg = NULL;
        int r = load_json_file(path, &cfg, err);
        if (r < 0 || !cfg)
                return r;
        const cJSON *helpers = cJSON_GetObjectItemCaseSensitive(cfg, "credHelpers");
        const cJSON *h = find_auth_entry(helpers, domain);
        if (cJSON_IsString(h))
                return creds_from_helper(h->valuestring, domain, ret, err);
        const cJSON *e = find_auth_entry(cJSON_GetObjectItemCaseSensitive(cfg, "auths"), domain);
        if (e) {
                r = creds_from_entry(e, path, ret, err);
                if (r != 0)
                        return r;
        }
        const char *store = json_get_str(cfg, "credsStore");
        if (!isempty(store))
                return creds_from_helper(store, domain, ret, err);
        return 0;
}

static char *podman_auth_path(void)
{
        const char *f = getenv("REGISTRY_AUTH_FILE");
        if (!isempty(f))
                return xstrdup(f);
        const char *rt = getenv("XDG_RUNTIME_DIR");
        if (!isempty(rt))
                return path_join(rt, "containers/auth.json");
        return xstrdup("/run/containers/0/auth.json");
}

int registry_credentials_lookup(const char *domain, struct registry_credentials *ret,
                                struct stack_error *err)
{
        int r = lookup_docker(domain, ret, err);
        if (r != 0)
                return r;
        _cleanup_free_ char *path = podman_auth_path();
        _cleanup_json_ cJSON *cfg = NULL;
        r = load_json_file(path, &cfg, err);
        if (r < 0 || !cfg)
                return r;
        const cJSON *e = find_auth_entry(cJSON_GetObjectItemCaseSensitive(cfg, "auths"), domain);
        return e ? creds_from_entry(e, path, ret, err) : 0;
}

static int save_config(const char *path, const cJSON *cfg, struct stack_error *err)
{
        _cleanup_free_ char *dir = path_dirname(path);
        int r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = cJSON_Print(cfg);
        if (!text)
                return stack_error_set(err, ENOMEM, "%s: cannot serialize", path);
        r = write_file_atomic(path, text, strlen(text), 0600, err);
        explicit_bzero(text, strlen(text));
        return r;
}

/* A helper's message for an error: its first line. */
static const char *first_line(char *s)
{
        s[strcspn(s, "\r\n")] = 0;
        return s;
}

/* The credential helper that keeps domain's secrets, as docker chooses it: credHelpers[domain], else
 * credsStore; NULL when the secrets go into config.json itself. */
static const char *helper_for(const cJSON *cfg, const char *domain)
{
        const cJSON *h = find_auth_entry(cJSON_GetObjectItemCaseSensitive(cfg, "credHelpers"), domain);
        if (cJSON_IsString(h) && !isempty(h->valuestring))
                return h->valuestring;
        const char *store = json_get_str(cfg, "credsStore");
        return isempty(store) ? NULL : store;
}

/* docker-credential-NAME store: {"ServerURL","Username","Secret"} on stdin. */
static int helper_store(const char *name, const char *domain, const char *user, const char *password,
                        struct stack_error *err)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "ServerURL", dist_config_key(domain));
        cJSON_AddStringToObject(j, "Username", user);
        cJSON_AddStringToObject(j, "Secret", password);
        _cleanup_free_ char *input = cJSON_PrintUnformatted(j);
        cJSON *secret = cJSON_GetObjectItemCaseSensitive(j, "Secret");
        explicit_bzero(secret->valuestring, strlen(secret->valuestring));
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        int status = 0;
        int r = helper_run(name, "store", input, &out, &len, &status, err);
        explicit_bzero(input, strlen(input));
        if (r < 0)
                return stack_error_prefix(err, "store credentials for %s", domain);
        if (!helper_succeeded(status))
                return stack_error_set(err, EIO, "credential helper docker-credential-%s could not store the "
                                                 "credentials for %s%s%s",
                                       name, domain, out && *out ? ": " : "", out ? first_line(out) : "");
        return 0;
}

int registry_auth_store(const char *domain, const char *user, const char *password, struct stack_error *err)
{
        _cleanup_free_ char *path = registry_docker_config_path();
        _cleanup_json_ cJSON *cfg = NULL;
        int r = load_json_file(path, &cfg, err);
        if (r < 0)
                return r;
        if (!cfg)
                cfg = cJSON_CreateObject();
        cJSON *auths = cJSON_GetObjectItemCaseSensitive(cfg, "auths");
        if (!cJSON_IsObject(auths)) {
                cJSON_DeleteItemFromObjectCaseSensitive(cfg, "auths");
                auths = cJSON_AddObjectToObject(cfg, "auths");
        }
        const cJSON *old = find_auth_entry(auths, domain);
        if (old)
                cJSON_DeleteItemFromObjectCaseSensitive(auths, old->string);
        cJSON *e = cJSON_AddObjectToObject(auths, dist_config_key(domain));
        const char *helper = helper_for(cfg, domain);
        if (helper) {
                /* As docker does: the secret goes to the helper, config.json keeps an empty entry that says
                 * a login exists. */
                r = helper_store(helper, domain, user, password, err);
                if (r < 0)
                        return r;
                return save_config(path, cfg, err);
        }
        _cleanup_free_ char *plain = xasprintf("%s:%s", user, password);
        _cleanup_free_ char *enc = registry_base64_encode(plain, strlen(plain));
        explicit_bzero(plain, strlen(plain));
        cJSON_AddStringToObject(e, "auth", enc);
        explicit_bzero(enc, strlen(enc));
        return save_config(path, cfg, err);
}

int registry_auth_erase(const char *domain, struct stack_error *err)
{
        _cleanup_free_ char *path = registry_docker_config_path();
        _cleanup_json_ cJSON *cfg = NULL;
        int r = load_json_file(path, &cfg, err);
        if (r < 0)
                return r;
        cJSON *auths = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "auths") : NULL;
        const cJSON *old = auths ? find_auth_entry(auths, domain) : NULL;
        const char *helper = cfg ? helper_for(cfg, domain) : NULL;
        bool erased = false;
        if (helper) {
                _cleanup_free_ char *out = NULL;
                size_t len = 0;
                int status = 0;
                r = helper_run(helper, "erase", dist_config_key(domain), &out, &len, &status, err);
                if (r < 0)
                        return stack_error_prefix(err, "erase credentials for %s", domain);
                erased = helper_succeeded(status);
                if (!erased && !(out && strstr(out, "not found")))
                        return stack_error_set(err, EIO,
                                               "credential helper docker-credential-%s could not erase the "
                                               "credentials for %s%s%s",
                                               helper, domain, out && *out ? ": " : "", out ? first_line(out) : "");
        }
        if (!old && !erased)
                return stack_error_set(err, ENOENT, "not logged in to %s", domain);
        if (old)
                cJSON_DeleteItemFromObjectCaseSensitive(auths, old->string);
        return save_config(path, cfg, err);
}
