/* The image store's API as the container layer uses it: import (a docker-save directory made here),
 * lookup by reference, id and prefix, the parsed config (durations converted from nanoseconds), layer
 * directories, tag, list, and remove with an in-use hook. Needs root (layers keep their owners). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/cleanup.h"
#include "core/base/digest.h"
#include "core/base/fileio.h"
#include "core/image/image.h"
#include "core/base/util.h"
#include "tests/unit/tap.h"

static void tar_file(struct strbuf *b, const char *name, const char *content)
{
        char h[512] = {0};
        size_t len = strlen(content);
        strncpy(h, name, 100);
        snprintf(h + 100, 8, "%07o", 0644);
        snprintf(h + 108, 8, "%07o", 0);
        snprintf(h + 116, 8, "%07o", 0);
        snprintf(h + 124, 12, "%011zo", len);
        snprintf(h + 136, 12, "%011o", 1700000000);
        h[156] = '0';
        memcpy(h + 257,
               "ustar\0"
               "00",
               8);
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += (unsigned char) h[i];
        snprintf(h + 148, 8, "%06o", sum);
        strbuf_add(b, h, 512);
        strbuf_add(b, content, len);
        static const char zero[1024];
        if (len % 512)
                strbuf_add(b, zero, 512 - len % 512);
}

static void write_str(const char *dir, const char *name, const void *data, size_t len)
{
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_free_ char *d = path_dirname(p);
        mkdir_p(d, 0755, NULL);
        if (write_file_atomic(p, data, len, 0644, NULL) < 0)
                abort();
}

static int busy(const char *id, char **ret_user, void *userdata)
{
        if (!*(bool *) userdata)
                return 0;
        *ret_user = xstrdup("web-1");
        return 1;
}

int main(void)
{
        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (layers are unpacked with their owners)\n");
                return 0;
        }
        char root[] = "/tmp/test-image.XXXXXX";
        if (!mkdtemp(root))
                abort();
        _cleanup_free_ char *src = path_join(root, "src");

        /* A docker save directory of one layer. */
        struct strbuf layer = {0};
        tar_file(&layer, "etc/hello", "hi\n");
        static const char zero[1024];
        strbuf_add(&layer, zero, sizeof(zero));
        char diff[DIGEST_STRING_MAX];
        digest_data(layer.buf, layer.len, diff);
        write_str(src, "l1/layer.tar", layer.buf, layer.len);
        _cleanup_free_ char *cfg = xasprintf(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\",\"config\":{"
            "\"Env\":[\"PATH=/bin\",\"A=1\"],\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"run\",\"--fast\"],"
            "\"WorkingDir\":\"/srv\",\"User\":\"app:app\",\"ExposedPorts\":{\"80/tcp\":{},\"53/"
            "udp\":{},\"8080\":{}},"
            "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q localhost\"],\"Interval\":30000000000,"
            "\"Timeout\":5000000000,\"StartPeriod\":0,\"Retries\":4},\"StopSignal\":\"SIGQUIT\","
            "\"Labels\":{\"a\":\"b\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
            diff);
        char id[DIGEST_STRING_MAX];
        digest_data(cfg, strlen(cfg), id);
        _cleanup_free_ char *cfgname = xasprintf("%s.json", digest_hex(id));
        write_str(src, cfgname, cfg, strlen(cfg));
        _cleanup_free_ char *manifest = xasprintf(
            "[{\"Config\":\"%s\",\"RepoTags\":[\"example/app:1\"],\"Layers\":[\"l1/layer.tar\"]}]", cfgname);
        write_str(src, "manifest.json", manifest, strlen(manifest));

        _cleanup_free_ char *store_root = path_join(root, "root");
        _cleanup_image_store_ struct image_store *s = NULL;
        struct stack_error err = {0};
        ok(image_store_open(store_root, &s, &err) == 0, "image_store_open creates the store");
        struct image **imported = NULL;
        int r = image_import(s, src, NULL, &imported, &err);
        if (!ok(r == 0, "docker save directory imports"))
                diag("%s", err.msg);
        stack_error_clear(&err);
        ok(imported && imported[0] && !imported[1], "one image imported");
        is_str(imported ? imported[0]->id : NULL, id, "its id is the config digest");
        image_list_free(imported);

        _cleanup_image_ struct image *img = NULL;
        r = image_lookup(s, "example/app:1", &img, &err);
        if (!ok(r == 0, "lookup by short reference"))
                diag("%s", err.msg);
        stack_error_clear(&err);
        if (!img)
                return done_testing();
        is_str(img->reference, "docker.io/example/app:1", "reference normalized");
        is_str(img->id, id, "id");
        ok(img->digest && digest_is_valid(img->digest), "a manifest digest is recorded");
        is_int(strv_length(img->layers), 1, "one layer directory");
        _cleanup_free_ char *hello = path_join(img->layers[0], "etc/hello");
        _cleanup_free_ char *content = NULL;
        read_full_file(hello, &content, NULL, NULL);
        is_str(content, "hi\n", "the layer directory holds the layer's files");
        is_str(img->diff_ids[0], diff, "diff_id recorded");
        is_int(img->size, 3, "size is the unpacked bytes");
        is_str(img->created, "2024-01-02T03:04:05Z", "created");
        const struct image_config *c = &img->config;
        _cleanup_free_ char *env = strv_join(c->env, " ");
        is_str(env, "PATH=/bin A=1", "Env");
        _cleanup_free_ char *ep = strv_join(c->entrypoint, " ");
        is_str(ep, "/bin/ep", "Entrypoint");
        _cleanup_free_ char *cmd = strv_join(c->cmd, " ");
        is_str(cmd, "run --fast", "Cmd");
        is_str(c->working_dir, "/srv", "WorkingDir");
        is_str(c->user, "app:app", "User");
        _cleanup_free_ char *ports = strv_join(c->exposed_ports, ",");
        is_str(ports, "53/udp,80/tcp,8080/tcp", "ExposedPorts sorted, bare port is tcp");
        ok(c->healthcheck.present && c->healthcheck.kind == STACK_HEALTH_SHELL, "Healthcheck CMD-SHELL");
        is_str(c->healthcheck.test ? c->healthcheck.test[0] : NULL, "wget -q localhost",
               "healthcheck command");
        is_int(c->healthcheck.interval_usec, 30000000, "Interval: nanoseconds to microseconds");
        is_int(c->healthcheck.timeout_usec, 5000000, "Timeout");
        is_int(c->healthcheck.start_period_usec, -1, "StartPeriod 0 means unset");
        is_int(c->healthcheck.retries, 4, "Retries");
        is_str(c->stop_signal, "SIGQUIT", "StopSignal");
        ok(c->labels.n == 1 && streq(c->labels.items[0].key, "a") && streq(c->labels.items[0].value, "b"),
           "Labels");

        _cleanup_image_ struct image *by_id = NULL, *by_prefix = NULL;
        ok(image_lookup(s, id, &by_id, NULL) == 0 && streq(by_id->id, id), "lookup by id");
        _cleanup_free_ char *prefix = xstrndup(digest_hex(id), 10);
        ok(image_lookup(s, prefix, &by_prefix, NULL) == 0 && streq(by_prefix->id, id),
           "lookup by id prefix");
        _cleanup_image_ struct image *missing = NULL;
        r = image_lookup(s, "example/other", &missing, &err);
        is_int(r, -ENOENT, "a missing image is -ENOENT");
        contains(err.msg, "example/other", "  and the error names it");
        stack_error_clear(&err);

        ok(image_tag(s, id, "localhost:5000/app:v2", NULL) == 0, "image_tag");
        struct image **all = NULL;
        ok(image_list(s, &all, NULL) == 0 && all[0] && !all[1], "image_list has the one image");
        is_int(all && all[0] ? strv_length(all[0]->references) : 0, 2, "  with both references");
        image_list_free(all);

        bool in_use = true;
        struct image_remove_options o = {.in_use = busy, .userdata = &in_use, .force = true};
        char **untagged = NULL, *deleted = NULL;
        r = image_remove(s, id, &o, &untagged, &deleted, &err);
        ok(r == 0 && !deleted, "--force by id while in use only untags");
        is_int(strv_length(untagged), 2, "  both names");
        strv_free(untagged);
        stack_error_clear(&err);
        ok(path_is_dir(img->layers[0]), "  and the layers stay");
        o.force = false;
        r = image_remove(s, id, &o, NULL, NULL, &err);
        is_int(r, -EBUSY, "remove refuses while the hook reports a user");
        contains(err.msg, "web-1", "  and names the user");
        stack_error_clear(&err);
        in_use = false;
        r = image_remove(s, id, &o, NULL, &deleted, &err);
        ok(r == 0 && deleted && streq(deleted, id), "remove deletes once nothing uses it");
        free(deleted);
        ok(!path_exists(img->layers[0]), "its layer directory is gone");
        _cleanup_free_ char *blob = xasprintf("%s/images/blobs/sha256/%s", store_root, digest_hex(id));
        ok(!path_exists(blob), "its config blob is gone");

        strbuf_free(&layer);
        rm_rf(root, NULL);
        return done_testing();
}
