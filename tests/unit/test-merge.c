/* Merging compose trees: the rules of 13-merge.md, tags, and the de-duplication of set-like sequences. */
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/merge.h"
#include "spec/yaml.h"
#include "tests/unit/tap.h"

static struct node *parse(const char *name, const char *text)
{
        _cleanup_error_ struct stack_error err = {0};
        struct node *n = NULL;
        if (spec_yaml_parse(text, strlen(text), name, &n, &err) < 0) {
                diag("parse %s: %s", name, err.msg);
                return NULL;
        }
        return n;
}

/* A compact flow rendering for comparisons: {k: v}, [a, b], ~ for null. */
static void dump(const struct node *n, struct strbuf *b)
{
        if (!n) {
                strbuf_puts(b, "(none)");
                return;
        }
        switch (n->kind) {
        case NODE_NULL:
                strbuf_puts(b, "~");
                break;
        case NODE_SCALAR:
                strbuf_puts(b, n->scalar);
                break;
        case NODE_SEQUENCE:
                strbuf_putc(b, '[');
                for (size_t i = 0; i < n->n_items; i++) {
                        if (i)
                                strbuf_puts(b, ", ");
                        dump(n->items[i], b);
                }
                strbuf_putc(b, ']');
                break;
        case NODE_MAPPING:
                strbuf_putc(b, '{');
                for (size_t i = 0; i < n->n_pairs; i++) {
                        if (i)
                                strbuf_puts(b, ", ");
                        strbuf_printf(b, "%s: ", n->pairs[i].key);
                        dump(n->pairs[i].value, b);
                }
                strbuf_putc(b, '}');
                break;
        }
}

static char *render(const struct node *n)
{
        struct strbuf b = {0};
        dump(n, &b);
        return strbuf_take(&b);
}

/* Merges the files in order like the loader does and returns the rendering of `path` (a.b.c). */
static char *merged(const char *path, const char *f1, const char *f2, const char *f3)
{
        const char *files[] = {f1, f2, f3};
        struct node *tree = NULL;
        for (size_t i = 0; i < 3 && files[i]; i++) {
                _cleanup_node_ struct node *n = parse(i == 0   ? "a.yaml"
                                                      : i == 1 ? "b.yaml"
                                                               : "c.yaml",
                                                      files[i]);
                _cleanup_error_ struct stack_error err = {0};
                if (!n || merge_tree(&tree, n, "", &err) < 0) {
                        diag("merge: %s", err.msg ? err.msg : "parse failed");
                        node_free(tree);
                        return xstrdup("(error)");
                }
        }
        merge_finish(tree);
        const struct node *at = tree;
        _cleanup_strv_free_ char **segs = strv_split(path, ".");
        STRV_FOREACH (s, segs)
                at = node_get(at, *s);
        char *s = render(at);
        node_free(tree);
        return s;
}

#define MERGED_IS(path, f1, f2, want, ...)                            \
        do {                                                          \
                _cleanup_free_ char *_m = merged(path, f1, f2, NULL); \
                is_str(_m, want, __VA_ARGS__);                        \
        } while (0)

static void test_basic(void)
{
        MERGED_IS("services.web", "services:\n  web:\n    image: a\n    init: true\n",
                  "services:\n  web:\n    image: b\n    user: x\n", "{image: b, init: true, user: x}",
                  "mappings merge, scalars are replaced, new keys are added");
        MERGED_IS("services", "services:\n  web:\n    image: a\n", "services:\n  db:\n    image: pg\n",
                  "{web: {image: a}, db: {image: pg}}", "services of both files are kept");
        MERGED_IS("services.web.cap_add", "services:\n  web:\n    cap_add: [NET_ADMIN]\n",
                  "services:\n  web:\n    cap_add: [SYS_ADMIN, NET_ADMIN]\n", "[NET_ADMIN, SYS_ADMIN]",
                  "sequences append, duplicates go");
        MERGED_IS("services.web.image", "services:\n  web:\n    image: a\n",
                  "services:\n  web:\n    image:\n", "a", "a null in a later file leaves the value alone");
        MERGED_IS("x-data", "x-data: {a: 1}\n", "x-data: {b: 2}\n", "{a: 1, b: 2}", "extensions merge too");
}

static void test_replace(void)
{
        MERGED_IS("services.web.command", "services:\n  web:\n    command: [a, b]\n",
                  "services:\n  web:\n    command: [c]\n", "[c]", "command is replaced, not appended");
        MERGED_IS("services.web.entrypoint", "services:\n  web:\n    entrypoint: [sh, -c]\n",
                  "services:\n  web:\n    entrypoint: /bin/x\n", "/bin/x",
                  "entrypoint is replaced, any form");
        MERGED_IS("services.web.healthcheck",
                  "services:\n  web:\n    healthcheck:\n      test: [CMD, a]\n      interval: 5s\n",
                  "services:\n  web:\n    healthcheck:\n      test: [CMD, b]\n",
                  "{test: [CMD, b], interval: 5s}", "healthcheck.test is replaced, the rest merges");
        MERGED_IS("services.web.ulimits",
                  "services:\n  web:\n    ulimits:\n      nofile: {soft: 1, hard: 2}\n",
                  "services:\n  web:\n    ulimits:\n      nofile: 5\n      nproc: 3\n",
                  "{nofile: 5, nproc: 3}", "ulimits entries are replaced");
}

static void test_keyvalue(void)
{
        MERGED_IS("services.web.environment",
                  "services:\n  web:\n    environment:\n      - A=1\n      - B=2\n      - C\n",
                  "services:\n  web:\n    environment:\n      B: 3\n      D: 4\n",
                  "{A: 1, B: 3, C: ~, D: 4}",
                  "environment: list form over map form, merged by key; a bare key is null");
        MERGED_IS("services.web.environment", "services:\n  web:\n    environment:\n      A: 1\n",
                  "services:\n  web:\n    environment:\n      - A=x=y\n", "{A: x=y}",
                  "environment: the value is everything after the first =");
        MERGED_IS("services.web.labels", "services:\n  web:\n    labels: [a=1, b]\n",
                  "services:\n  web:\n    labels: [a=2]\n", "{a: 2, b: }", "labels: a bare label is empty");
        MERGED_IS("services.web.extra_hosts",
                  "services:\n  web:\n    extra_hosts: [\"db:10.0.0.1\", \"x=1.1.1.1\"]\n",
                  "services:\n  web:\n    extra_hosts:\n      db: 10.0.0.2\n",
                  "{db: [10.0.0.1, 10.0.0.2], x: 1.1.1.1}",
                  "extra_hosts: host:ip and host=ip, merged by host keeping every address (as compose)");
        MERGED_IS(
            "services.web.extra_hosts",
            "services:\n  web:\n    extra_hosts: [a=1.1.1.1, a=2.2.2.2, b=3.3.3.3]\n",
            "services:\n  web:\n    extra_hosts:\n      a: [2.2.2.2, 4.4.4.4]\n      b: !override 5.5.5.5\n",
            "{a: [1.1.1.1, 2.2.2.2, 4.4.4.4], b: 5.5.5.5}",
            "extra_hosts: a repeated host has several addresses; duplicates go; !override replaces");
        MERGED_IS("services.web.sysctls", "services:\n  web:\n    sysctls: [net.core.somaxconn=1024]\n",
                  "services:\n  web:\n    sysctls:\n      net.core.somaxconn: 2048\n",
                  "{net.core.somaxconn: 2048}", "sysctls merge by name");
        MERGED_IS("services.web.build",
                  "services:\n  web:\n    build:\n      context: .\n      args: [A=1]\n",
                  "services:\n  web:\n    build:\n      args: {B: 2}\n", "{context: ., args: {A: 1, B: 2}}",
                  "build.args merge by key");
        MERGED_IS("services.web.environment", "services:\n  web:\n    environment: [A=1, A=2]\n", NULL,
                  "[A=2]", "a list with a key twice keeps the last");
}

static void test_marks_kept(void)
{
        _cleanup_node_ struct node *a =
            parse("a.yaml", "services:\n  web:\n    environment:\n      - A=1\n");
        _cleanup_node_ struct node *b = parse("b.yaml", "services:\n  web:\n    environment:\n      B: 2\n");
        _cleanup_error_ struct stack_error err = {0};
        struct node *tree = NULL;
        ok(merge_tree(&tree, a, "", &err) == 0 && merge_tree(&tree, b, "", &err) == 0, "merge succeeds");
        const struct node *env = node_get(node_get(node_get(tree, "services"), "web"), "environment");
        const struct node_pair *pa = node_get_pair(env, "A");
        const struct node_pair *pb = node_get_pair(env, "B");
        ok(pa && streq(pa->key_mark.file, "a.yaml") && pa->key_mark.line == 4 && pa->key_mark.column == 9,
           "a converted list entry keeps the mark of its item");
        ok(pa && pa->value->quoted, "and its value is a string");
        ok(pb && streq(pb->value->mark.file, "b.yaml") && pb->value->mark.line == 4,
           "a later entry keeps its mark");
        node_free(tree);
}

static void test_names(void)
{
        MERGED_IS("services.web.depends_on", "services:\n  web:\n    depends_on: [db]\n",
                  "services:\n  web:\n    depends_on:\n      db:\n        condition: service_healthy\n      "
                  "cache:\n        condition: service_started\n",
                  "{db: {condition: service_healthy, required: true}, cache: {condition: service_started}}",
                  "depends_on: list form becomes a mapping and entries merge");
        MERGED_IS("services.web.networks", "services:\n  web:\n    networks: [front]\n",
                  "services:\n  web:\n    networks:\n      front:\n        aliases: [w]\n      back:\n",
                  "{front: {aliases: [w]}, back: ~}", "networks: list form becomes a mapping");
        MERGED_IS("services.web.networks",
                  "services:\n  web:\n    networks:\n      front:\n        aliases: [a]\n",
                  "services:\n  web:\n    networks: [front]\n", "{front: {aliases: [a]}}",
                  "a later list entry does not clear the earlier options");
        MERGED_IS("services.web.build", "services:\n  web:\n    build: ./dir\n",
                  "services:\n  web:\n    build:\n      dockerfile: Other\n",
                  "{context: ./dir, dockerfile: Other}", "build: a string is the context");
        MERGED_IS("services.web.dns", "services:\n  web:\n    dns: 1.1.1.1\n",
                  "services:\n  web:\n    dns: [8.8.8.8]\n", "[1.1.1.1, 8.8.8.8]",
                  "dns: a string is a one-item list");
        MERGED_IS(
            "services.web.logging",
            "services:\n  web:\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n",
            "services:\n  web:\n    logging:\n      driver: journald\n", "{driver: journald}",
            "logging: another driver replaces the options");
        MERGED_IS(
            "services.web.logging",
            "services:\n  web:\n    logging:\n      driver: json-file\n      options: {max-size: 1m}\n",
            "services:\n  web:\n    logging:\n      options: {max-file: 2}\n",
            "{driver: json-file, options: {max-size: 1m, max-file: 2}}",
            "logging: same driver merges options");
}

static void test_unique(void)
{
        MERGED_IS("services.web.ports",
                  "services:\n  web:\n    ports: [\"8080:80\", \"443:443\", \"127.0.0.1:53:53/udp\"]\n",
                  "services:\n  web:\n    ports:\n      - target: 80\n        published: 8080\n      - "
                  "\"9090:90\"\n      - \"127.0.0.1:53:53/udp\"\n",
                  "[{target: 80, published: 8080}, 443:443, 127.0.0.1:53:53/udp, 9090:90]",
                  "ports de-duplicated by host_ip, published, target, protocol across forms");
        MERGED_IS("services.web.ports", "services:\n  web:\n    ports: [\"53:53\"]\n",
                  "services:\n  web:\n    ports: [\"53:53/udp\", \"[::1]:53:53\", \"0.0.0.0:53:53\"]\n",
                  "[0.0.0.0:53:53, 53:53/udp, [::1]:53:53]",
                  "protocol and host address tell ports apart; 0.0.0.0 is the default address");
        MERGED_IS("services.web.volumes",
                  "services:\n  web:\n    volumes: [\"./a:/data\", \"logs:/logs\", /anon]\n",
                  "services:\n  web:\n    volumes:\n      - ./b:/data:ro\n      - type: volume\n        "
                  "source: other\n        target: /logs\n",
                  "[./b:/data:ro, {type: volume, source: other, target: /logs}, /anon]",
                  "volumes de-duplicated by target, the later one in the earlier place");
        MERGED_IS("services.web.secrets", "services:\n  web:\n    secrets: [a, b]\n",
                  "services:\n  web:\n    secrets:\n      - source: c\n        target: /run/secrets/a\n     "
                  " - source: d\n        target: b\n",
                  "[{source: c, target: /run/secrets/a}, {source: d, target: b}]",
                  "secrets de-duplicated by target (relative targets are under /run/secrets)");
        MERGED_IS("services.web.configs", "services:\n  web:\n    configs: [a]\n",
                  "services:\n  web:\n    configs:\n      - source: b\n        target: /a\n",
                  "[{source: b, target: /a}]", "configs de-duplicated by target (default /<source>)");
        MERGED_IS("services.web.env_file", "services:\n  web:\n    env_file: a.env\n",
                  "services:\n  web:\n    env_file:\n      - path: a.env\n        required: false\n      - "
                  "b.env\n",
                  "[{path: a.env, required: false}, b.env]",
                  "env_file: string or list, de-duplicated by path");
}

static void test_tags(void)
{
        MERGED_IS("services.web", "services:\n  web:\n    image: a\n    ports: [\"80:80\"]\n",
                  "services:\n  web:\n    ports: !reset []\n", "{image: a}",
                  "!reset removes the earlier value");
        MERGED_IS("services.web.environment", "services:\n  web:\n    environment: {A: 1, B: 2}\n",
                  "services:\n  web:\n    environment:\n      B: !reset\n", "{A: 1}",
                  "!reset removes one entry");
        MERGED_IS("services.web.ports", "services:\n  web:\n    ports: [\"80:80\"]\n",
                  "services:\n  web:\n    ports: !override [\"90:90\"]\n", "[90:90]",
                  "!override replaces a sequence instead of appending");
        MERGED_IS("services.web.environment", "services:\n  web:\n    environment: {A: 1, B: 2}\n",
                  "services:\n  web:\n    environment: !override\n      C: 3\n", "{C: 3}",
                  "!override replaces a mapping instead of merging");
        MERGED_IS("services.web", "services:\n  web:\n    image: a\n    ports: !reset [\"1:1\"]\n", NULL,
                  "{image: a}", "!reset in the first file leaves nothing");
        {
                _cleanup_free_ char *m =
                    merged("services.web.ports", "services:\n  web:\n    ports: [\"80:80\"]\n",
                           "services:\n  web:\n    ports: !reset []\n",
                           "services:\n  web:\n    ports: [\"90:90\"]\n");
                is_str(m, "[90:90]", "a value reset by one file can be set again by the next");
        }
        {
                _cleanup_free_ char *m = merged(
                    "services.web.command", "services:\n  web:\n    command: [a]\n",
                    "services:\n  web:\n    command: !override [b]\n", "services:\n  web:\n    image: x\n");
                is_str(m, "[b]", "an override survives later merges that do not touch it");
        }
}

static void test_kind_error(void)
{
        _cleanup_node_ struct node *a =
            parse("a.yaml", "services:\n  web:\n    healthcheck:\n      interval: 1s\n");
        _cleanup_node_ struct node *b = parse("b.yaml", "services:\n  web:\n    healthcheck: 3\n");
        _cleanup_error_ struct stack_error err = {0};
        struct node *tree = NULL;
        ok(merge_tree(&tree, a, "", &err) == 0, "first file merges");
        ok(merge_tree(&tree, b, "", &err) < 0, "a scalar over a mapping is an error");
        contains(err.msg,
                 "b.yaml:3:18: services.web.healthcheck: cannot merge a scalar into the mapping defined at "
                 "a.yaml:4:7",
                 "the error names both places and the key path");
        node_free(tree);

        _cleanup_node_ struct node *c = parse("c.yaml", "services:\n  web:\n    environment: [A=1]\n");
        _cleanup_node_ struct node *d =
            parse("d.yaml", "services:\n  web:\n    environment:\n      - {A: 1}\n");
        _cleanup_error_ struct stack_error err2 = {0};
        tree = NULL;
        ok(merge_tree(&tree, c, "", &err2) == 0 && merge_tree(&tree, d, "", &err2) < 0,
           "a list entry that is not a string cannot be merged");
        contains(err2.msg, "d.yaml:4:9: services.web.environment[0]: expected a string",
                 "located at the entry");
        node_free(tree);
}

static void test_extends_path(void)
{
        /* What extends does: the service's own definition over a copy of the base, under services.<name>. */
        _cleanup_node_ struct node *base =
            parse("a.yaml", "image: a\ncommand: [x]\nenvironment: [A=1]\nports: [\"80:80\"]\n");
        _cleanup_node_ struct node *svc =
            parse("a.yaml", "command: [y]\nenvironment: {B: 2}\nports: !reset []\n");
        _cleanup_error_ struct stack_error err = {0};
        struct node *tree = node_copy(base);
        ok(merge_tree(&tree, svc, "services.web", &err) == 0, "a service merges over its base");
        _cleanup_free_ char *s = render(tree);
        is_str(s, "{image: a, command: [y], environment: {A: 1, B: 2}, ports: []}",
               "service-level rules apply under the given path (the reset is kept for the file merge)");
        is_int(node_get(tree, "ports")->tag, NODE_TAG_RESET, "the reset tag is kept");
        node_free(tree);
}

int main(void)
{
        test_basic();
        test_replace();
        test_keyvalue();
        test_marks_kept();
        test_names();
        test_unique();
        test_tags();
        test_kind_error();
        test_extends_path();
        return done_testing();
}
