/* The config hash: stable for the same service, blind to what must not recreate a container (scale,
 * depends_on, profiles, build, pull_policy), sensitive to what must. */
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/hash.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

static const char *const base = "services:\n"
                                "  web:\n"
                                "    image: nginx\n"
                                "    environment: {A: \"1\", B: \"2\"}\n"
                                "    ports: [\"8080:80\"]\n";

/* The hash of service "web" of base followed by `extra` (indented for the web service), or "" on error. */
static char *web_hash(const char *yaml)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(yaml, &err);
        char h[65];
        if (!p) {
                diag("%s", err.msg);
                return xstrdup("");
        }
        if (spec_service_hash(p, stack_project_service(p, "web"), h) < 0)
                return xstrdup("");
        return xstrdup(h);
}

static char *with(const char *extra)
{
        _cleanup_free_ char *y = xasprintf("%s%s  db:\n    image: postgres\n", base, extra);
        return web_hash(y);
}

int main(void)
{
        test_env_init();
        _cleanup_free_ char *h0 = with("");
        is_int(strlen(h0), 64, "64 hex digits");
        _cleanup_free_ char *again = with("");
        is_str(again, h0, "same model, same hash");

        /* Reordering keys in the file does not change the hash. */
        _cleanup_free_ char *reordered = web_hash("services:\n"
                                                  "  db:\n    image: postgres\n"
                                                  "  web:\n"
                                                  "    ports: [\"8080:80\"]\n"
                                                  "    environment: [B=2, A=1]\n"
                                                  "    image: nginx\n");
        is_str(reordered, h0, "key order and map vs list syntax do not matter");
        _cleanup_free_ char *long_port =
            web_hash("services:\n"
                     "  web:\n"
                     "    image: nginx\n"
                     "    environment: {A: \"1\", B: \"2\"}\n"
                     "    ports:\n"
                     "      - {target: 80, published: \"8080\", protocol: tcp}\n"
                     "  db:\n    image: postgres\n");
        is_str(long_port, h0, "short and long port syntax hash the same");

        static const char *const neutral[] = {
            "    scale: 3\n",
            "    deploy: {replicas: 5}\n",
            "    depends_on: [db]\n",
            "    depends_on: {db: {condition: service_healthy}}\n",
            "    profiles: [debug]\n",
            "    build: ./web\n",
            "    pull_policy: always\n",
            "    x-note: anything\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(neutral); i++) {
                _cleanup_free_ char *h = with(neutral[i]);
                is_str(h, h0, "unchanged by %.*s", (int) strlen(neutral[i]) - 5, neutral[i] + 4);
        }
        /* Each case replaces one line of the base service or adds one. */
        static const struct {
                const char *image, *env, *ports, *extra;
        } changing[] = {
            {NULL, "    environment: {A: \"1\", B: \"3\"}\n", NULL, ""},
            {NULL, "    environment: {A: \"1\", B: \"2\", C: \"\"}\n", NULL, ""},
            {"    image: nginx:2\n", NULL, NULL, ""},
            {NULL, NULL, "    ports: [\"8081:80\"]\n", ""},
            {NULL, NULL, NULL, "    command: [\"nginx\"]\n"},
            {NULL, NULL, NULL, "    volumes: [\"/srv:/srv\"]\n"},
            {NULL, NULL, NULL, "    restart: always\n"},
            {NULL, NULL, NULL, "    healthcheck: {test: [\"CMD\", \"true\"]}\n"},
            {NULL, NULL, NULL, "    labels: {x: y}\n"},
            {NULL, NULL, NULL, "    mem_limit: 1g\n"},
            {NULL, NULL, NULL, "    read_only: true\n"},
        };
        for (size_t i = 0; i < ELEMENTSOF(changing); i++) {
                _cleanup_free_ char *y = xasprintf(
                    "services:\n  web:\n%s%s%s%s  db:\n    image: postgres\n",
                    changing[i].image ? changing[i].image : "    image: nginx\n",
                    changing[i].env ? changing[i].env : "    environment: {A: \"1\", B: \"2\"}\n",
                    changing[i].ports ? changing[i].ports : "    ports: [\"8080:80\"]\n", changing[i].extra);
                _cleanup_free_ char *h = web_hash(y);
                ok(!streq(h, h0) && !streq(h, ""), "changed by case %zu", i);
        }

        /* The serialization is versioned, and pinned: a change here recreates every container. */
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p =
            load_model("services:\n  web:\n    image: nginx\n    network_mode: none\n", &err);
        _cleanup_free_ char *input = p ? spec_service_hash_input(p, &p->services[0]) : NULL;
        is_str(input, "stack-hash-v1\n{\"image\":\"nginx\",\"network_mode\":\"none\"}", "canonical input");
        char h[65];
        ok(p && spec_service_hash(p, &p->services[0], h) == 0, "hash");
        /* sha256 of the string above, computed independently with sha256sum. */
        is_str(h, "d2c8fe0846502e3701afa4f377db043f4f47e2a8c06f372eef7f4450d073b4e9", "pinned value");
        stack_kvlist_free(&test_env);
        return done_testing();
}
