/* The distribution protocol's pure parts: challenges, platforms, manifests and indexes, registry names,
 * and the credential encoding. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/image/distribution.h"
#include "core/image/registry-auth.h"
#include "tests/unit/tap.h"

#define D1 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D2 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_challenge(void)
{
        _cleanup_dist_challenge_ struct dist_challenge c = {0};
        struct stack_error err = {0};
        ok(dist_challenge_parse(
               "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
               "scope=\"repository:library/redis:pull\"",
               &c, &err) == 0,
           "a Bearer challenge parses");
        is_str(c.scheme, "bearer", "scheme lowercased");
        is_str(c.realm, "https://auth.docker.io/token", "realm");
        is_str(c.service, "registry.docker.io", "service");
        is_str(c.scope, "repository:library/redis:pull", "scope");
        dist_challenge_done(&c);

        ok(dist_challenge_parse("Basic realm=\"Registry Realm\"", &c, &err) == 0,
           "a Basic challenge parses");
        is_str(c.scheme, "basic", "basic scheme");
        is_str(c.realm, "Registry Realm", "quoted realm with a space");
        dist_challenge_done(&c);

        ok(dist_challenge_parse(
               "bearer realm=http://127.0.0.1:1/t , service=reg,error=\"insufficient_scope\"", &c, &err) ==
               0,
           "unquoted values and spaces around commas");
        is_str(c.realm, "http://127.0.0.1:1/t", "unquoted realm");
        is_str(c.service, "reg", "unquoted service");
        is_str(c.error, "insufficient_scope", "error parameter");
        dist_challenge_done(&c);

        ok(dist_challenge_parse("Bearer realm=\"a\\\"b\", Basic realm=\"x\"", &c, &err) == 0,
           "several challenges: the first one counts");
        is_str(c.realm, "a\"b", "backslash escape inside quotes");
        dist_challenge_done(&c);

        ok(dist_challenge_parse("Bearer service=\"x\"", &c, &err) < 0, "Bearer without realm is refused");
        contains(err.msg, "realm", "  saying so");
        stack_error_clear(&err);
        ok(dist_challenge_parse("", &c, &err) < 0, "empty header is refused");
        stack_error_clear(&err);
}

static void test_platform(void)
{
        struct stack_error err = {0};
        _cleanup_dist_platform_ struct dist_platform p = {0};
        ok(dist_platform_parse("linux/arm64/v8", &p, &err) == 0, "linux/arm64/v8 parses");
        is_str(p.os, "linux", "os");
        is_str(p.architecture, "arm64", "arch");
        is_str(p.variant, "v8", "variant");
        dist_platform_done(&p);
        ok(dist_platform_parse("linux/x86_64", &p, &err) == 0, "an alias parses");
        is_str(p.architecture, "amd64", "x86_64 is amd64");
        dist_platform_done(&p);
        ok(dist_platform_parse("arm64", &p, &err) == 0, "a bare architecture");
        is_str(p.os, "linux", "  is for linux");
        dist_platform_done(&p);
        ok(dist_platform_parse("linux/arm//", &p, &err) < 0, "too many parts refused");
        stack_error_clear(&err);
        ok(dist_platform_parse("linux//v7", &p, &err) < 0, "empty component refused");
        stack_error_clear(&err);

        struct dist_platform arm64 = {.os = (char *) "linux", .architecture = (char *) "arm64"};
        struct dist_platform arm64v8 = {
            .os = (char *) "linux", .architecture = (char *) "arm64", .variant = (char *) "v8"};
        struct dist_platform armv7 = {
            .os = (char *) "linux", .architecture = (char *) "arm", .variant = (char *) "v7"};
        struct dist_platform armv6 = {
            .os = (char *) "linux", .architecture = (char *) "arm", .variant = (char *) "v6"};
        struct dist_platform arm = {.os = (char *) "linux", .architecture = (char *) "arm"};
        struct dist_platform amd64 = {.os = (char *) "linux", .architecture = (char *) "amd64"};
        struct dist_platform win = {.os = (char *) "windows", .architecture = (char *) "amd64"};
        ok(dist_platform_match(&arm64, &arm64v8), "arm64 matches arm64/v8 (default variant)");
        ok(dist_platform_match(&arm64v8, &arm64), "and the other way round");
        ok(!dist_platform_match(&armv7, &armv6), "arm/v7 does not take arm/v6");
        ok(dist_platform_match(&arm, &armv6), "arm without a variant takes any");
        ok(dist_platform_match(&armv7, &arm), "an image without a variant runs anywhere of its arch");
        ok(!dist_platform_match(&amd64, &win), "os must match");
        ok(!dist_platform_match(&amd64, &arm64), "arch must match");
        _cleanup_free_ char *s = dist_platform_string(&armv7);
        is_str(s, "linux/arm/v7", "platform string");
}

static const char *index_json =
    "{\"schemaVersion\":2,\"mediaType\":\"" DIST_MEDIA_OCI_INDEX "\","
    "\"manifests\":["
    "{\"mediaType\":\"" DIST_MEDIA_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"" DIST_MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":11,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" DIST_MEDIA_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":12,"
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}"
    "]}";

static void test_manifest(void)
{
        struct stack_error err = {0};
        _cleanup_dist_manifest_ struct dist_manifest m = {0};
        const char *img = "{\"schemaVersion\":2,\"mediaType\":\"" DIST_MEDIA_DOCKER_MANIFEST "\","
                          "\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":5},"
                          "\"layers\":[{\"mediaType\":\"l\",\"digest\":\"" D2 "\",\"size\":7}]}";
        ok(dist_manifest_parse(img, strlen(img), NULL, &m, &err) == 0, "Docker schema2 manifest parses");
        is_int(m.kind, DIST_MANIFEST_IMAGE, "  an image");
        is_str(m.config.digest, D1, "  config digest");
        is_int(m.n_layers, 1, "  one layer");
        is_int(m.layers[0].size, 7, "  layer size");
        dist_manifest_done(&m);

        const char *nomt =
            "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":5},\"layers\":[]}";
        ok(dist_manifest_parse(nomt, strlen(nomt), DIST_MEDIA_OCI_MANIFEST "; charset=utf-8", &m, &err) == 0,
           "an OCI manifest without mediaType takes the content type");
        is_str(m.media_type, DIST_MEDIA_OCI_MANIFEST, "  media type");
        dist_manifest_done(&m);

        const char *v1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";
        ok(dist_manifest_parse(v1, strlen(v1), DIST_MEDIA_DOCKER_V1_SIGNED, &m, &err) == -EPROTONOSUPPORT,
           "schema 1 is refused");
        contains(err.msg, "schema 1 manifests are not supported", "  with a clear message");
        stack_error_clear(&err);

        const char *bad = "{\"schemaVersion\":2,\"mediaType\":\"" DIST_MEDIA_OCI_MANIFEST "\","
                          "\"config\":{\"digest\":\"md5:00\",\"size\":5},\"layers\":[]}";
        ok(dist_manifest_parse(bad, strlen(bad), NULL, &m, &err) < 0, "an invalid config digest is refused");
        contains(err.msg, "md5:00", "  naming it");
        stack_error_clear(&err);

        struct strbuf many = {0};
        strbuf_puts(&many, "{\"schemaVersion\":2,\"mediaType\":\"" DIST_MEDIA_OCI_MANIFEST "\",\"config\":{"
                           "\"digest\":\"" D1 "\",\"size\":5},\"layers\":[");
        for (int i = 0; i <= DIST_MAX_LAYERS; i++)
                strbuf_printf(&many, "%s{\"digest\":\"" D2 "\",\"size\":1}", i ? "," : "");
        strbuf_puts(&many, "]}");
        ok(dist_manifest_parse(many.buf, many.len, NULL, &m, &err) == -E2BIG, "too many layers are refused");
        stack_error_clear(&err);
        strbuf_free(&many);

        ok(dist_manifest_parse("[1]", 3, NULL, &m, &err) < 0, "a non-object is refused");
        stack_error_clear(&err);

        ok(dist_manifest_parse(index_json, strlen(index_json), NULL, &m, &err) == 0, "an OCI index parses");
        is_int(m.kind, DIST_MANIFEST_INDEX, "  an index");
        is_int(m.n_entries, 3, "  three entries");
        const struct dist_descriptor *pick = NULL;
        struct dist_platform v7 = {
            .os = (char *) "linux", .architecture = (char *) "arm", .variant = (char *) "v7"};
        ok(dist_index_select(&m, &v7, &pick, &err) == 0 && pick, "linux/arm/v7 is found");
        if (pick)
                is_int(pick->size, 11, "  the v7 entry, not the first arm one");
        struct dist_platform amd = {.os = (char *) "linux", .architecture = (char *) "amd64"};
        ok(dist_index_select(&m, &amd, &pick, &err) == -ENOENT, "linux/amd64 is not in the index");
        contains(err.msg, "no image for platform linux/amd64 (available: linux/arm/v6, linux/arm/v7)",
                 "  the error lists the available platforms, without the attestation entry");
        stack_error_clear(&err);
}

static void test_registry_names(void)
{
        is_str(dist_registry_host("docker.io"), "registry-1.docker.io", "docker.io is served elsewhere");
        is_str(dist_registry_host("quay.io"), "quay.io", "other registries are themselves");
        is_str(dist_config_key("docker.io"), "https://index.docker.io/v1/", "Docker Hub's config.json key");
        is_str(dist_config_key("localhost:5000"), "localhost:5000", "others by domain");
        ok(dist_registry_insecure_default("localhost:5000"), "localhost is insecure by default");
        ok(dist_registry_insecure_default("127.0.0.1:41234"), "127.0.0.0/8 is insecure by default");
        ok(dist_registry_insecure_default("[::1]:5000"), "::1 is insecure by default");
        ok(!dist_registry_insecure_default("registry.example.com"), "a named registry is not");
        ok(!dist_registry_insecure_default("127.example.com"), "a name starting with 127 is not");
}

static void test_base64(void)
{
        static const char *const cases[][2] = {
            {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"user:p@ss", "dXNlcjpwQHNz"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *e = registry_base64_encode(cases[i][0], strlen(cases[i][0]));
                is_str(e, cases[i][1], "base64(\"%s\")", cases[i][0]);
                _cleanup_free_ char *d = NULL;
                ok(registry_base64_decode(cases[i][1], &d, NULL) == 0, "decode %s", cases[i][1]);
                is_str(d, cases[i][0], "  round trip");
        }
        _cleanup_free_ char *d = NULL;
        ok(registry_base64_decode("Zm9", &d, NULL) < 0, "bad length refused");
        ok(registry_base64_decode("Z=9v", &d, NULL) < 0, "padding in the middle refused");
        ok(registry_base64_decode("Zm9*", &d, NULL) < 0, "character outside the alphabet refused");
}

int main(void)
{
        test_challenge();
        test_platform();
        test_manifest();
        test_registry_names();
        test_base64();
        return done_testing();
}
