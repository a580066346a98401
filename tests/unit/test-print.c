/* `stack config` output: the compose-shaped JSON tree, its YAML rendering (read back with our own YAML
 * reader to prove the quoting), and JSON. */
#include <math.h>

#include "core/base/json.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "spec/print.h"
#include "tests/unit/spec-test.h"
#include "tests/unit/tap.h"

static const char *const full_yaml =
    "name: ignored\n"
    "services:\n"
    "  web:\n"
    "    image: nginx:1.25\n"
    "    command: [\"nginx\", \"-g\", \"daemon off;\"]\n"
    "    ports: [\"127.0.0.1:8080:80\", \"9000\", \"[::1]:53:53/udp\"]\n"
    "    volumes: [\"./html:/usr/share/nginx/html:ro\", \"data:/data\"]\n"
    "    environment:\n"
    "      A: \"yes\"\n"
    "      B: \"123\"\n"
    "      C: 'a: b'\n"
    "      D: \"# not a comment\"\n"
    "      E: \"line1\\nline2\"\n"
    "      F: ''\n"
    "      G: '-'\n"
    "      H: null\n"
    "      I: '@at'\n"
    "      J: \" padded \"\n"
    "      K: '1:30'\n"
    "      L: '0x1F'\n"
    "      M: 'say \"hi\"'\n"
    "      N: '~'\n"
    "    depends_on:\n"
    "      db: {condition: service_healthy}\n"
    "    healthcheck:\n"
    "      test: wget -q -O- http://localhost\n"
    "      interval: 90s\n"
    "      retries: 3\n"
    "    deploy: {replicas: 2, resources: {limits: {cpus: '0.25', memory: 64m}}}\n"
    "    restart: on-failure:3\n"
    "    stop_grace_period: 1h\n"
    "    ulimits: {nofile: {soft: 1024, hard: 2048}}\n"
    "    extra_hosts: [\"b=10.0.0.2\", \"a=10.0.0.1\"]\n"
    "    x-custom: {n: 1, t: true, s: \"text\"}\n"
    "  db:\n"
    "    image: postgres\n"
    "    networks:\n"
    "      default:\n"
    "        aliases: [database]\n"
    "volumes:\n"
    "  data:\n"
    "x-stack: {max_orphans: 2}\n";

/* Compares a node tree read back from our YAML with the JSON it was rendered from. */
static bool same(const struct node *n, const cJSON *j, const char *path)
{
        if (cJSON_IsObject(j)) {
                size_t count = 0;
                for (const cJSON *c = j->child; c; c = c->next, count++) {
                        _cleanup_free_ char *p = node_path_key(path, c->string);
                        if (!same(node_get(n, c->string), c, p))
                                return false;
                }
                if (count == 0 && n && n->kind == NODE_MAPPING && n->n_pairs == 0)
                        return true;
                if (!n || n->kind != NODE_MAPPING || n->n_pairs != count) {
                        diag("%s: mapping differs", path);
                        return false;
                }
                return true;
        }
        if (cJSON_IsArray(j)) {
                size_t i = 0;
                if (!n || n->kind != NODE_SEQUENCE || n->n_items != (size_t) cJSON_GetArraySize(j)) {
                        diag("%s: sequence differs", path);
                        return false;
                }
                for (const cJSON *c = j->child; c; c = c->next, i++) {
                        _cleanup_free_ char *p = node_path_index(path, i);
                        if (!same(n->items[i], c, p))
                                return false;
                }
                return true;
        }
        if (cJSON_IsNull(j)) {
                if (n && (n->kind == NODE_NULL ||
                          (n->kind == NODE_SCALAR && !n->quoted && streq(n->scalar, "null"))))
                        return true;
                diag("%s: expected null", path);
                return false;
        }
        if (!n || n->kind != NODE_SCALAR) {
                diag("%s: expected a scalar", path);
                return false;
        }
        if (cJSON_IsString(j)) {
                /* A string that would read as something else must have been quoted. */
                bool plain_ok =
                    !streq(n->scalar, "true") && !streq(n->scalar, "yes") && !streq(n->scalar, "null");
                if (!streq(n->scalar, j->valuestring) || (!n->quoted && !plain_ok)) {
                        diag("%s: \"%s\" read back as \"%s\"%s", path, j->valuestring, n->scalar,
                             n->quoted ? "" : " (plain)");
                        return false;
                }
                return true;
        }
        if (cJSON_IsBool(j))
                return !n->quoted && streq(n->scalar, cJSON_IsTrue(j) ? "true" : "false");
        char *end;
        double v = strtod(n->scalar, &end);
        if (n->quoted || *end || fabs(v - j->valuedouble) > 1e-9) {
                diag("%s: number %g read back as %s", path, j->valuedouble, n->scalar);
                return false;
        }
        return true;
}

static void test_yaml_round_trip(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(full_yaml, &err);
        if (!ok(p != NULL, "full model loads"))
                return diag("%s", err.msg);
        _cleanup_(cJSON_Deletep) cJSON *j = spec_project_to_json(p);
        _cleanup_free_ char *yaml = spec_json_to_yaml(j);
        _cleanup_node_ struct node *back = NULL;
        if (!ok(spec_yaml_parse(yaml, strlen(yaml), "out.yaml", &back, &err) == 0, "our YAML parses"))
                return diag("%s\n%s", err.msg, yaml);
        ok(same(back, j, ""), "our YAML reads back as the same data (quoting is right)");

        /* The shape a docker compose user compares against. */
        contains(yaml, "name: demo\nservices:\n  db:\n", "name first, services sorted");
        contains(yaml,
                 "    ports:\n"
                 "      - mode: ingress\n"
                 "        host_ip: 127.0.0.1\n"
                 "        target: 80\n"
                 "        published: \"8080\"\n"
                 "        protocol: tcp\n",
                 "long-syntax ports as compose prints them");
        contains(yaml, "      - mode: ingress\n        target: 9000\n        protocol: tcp\n",
                 "random host port");
        contains(yaml,
                 "      - type: bind\n"
                 "        source: " TEST_DIR "/html\n"
                 "        target: /usr/share/nginx/html\n"
                 "        read_only: true\n"
                 "        bind:\n"
                 "          create_host_path: true\n",
                 "long-syntax bind with the resolved path");
        contains(yaml,
                 "      - type: volume\n        source: data\n        target: /data\n        volume: {}\n",
                 "named volume");
        contains(yaml,
                 "    depends_on:\n      db:\n        condition: service_healthy\n        required: true\n",
                 "depends_on long form");
        contains(yaml, "      test:\n        - CMD-SHELL\n        - wget -q -O- http://localhost\n",
                 "healthcheck test");
        contains(yaml, "      interval: 1m30s\n", "duration as compose prints it");
        contains(yaml, "    restart: on-failure:3\n", "restart");
        contains(yaml, "    stop_grace_period: 1h0m0s\n", "Go-style duration");
        contains(yaml, "        limits:\n          cpus: 0.25\n          memory: \"67108864\"\n", "limits");
        contains(yaml, "      replicas: 2\n", "replicas");
        contains(yaml, "    extra_hosts:\n      - a=10.0.0.1\n      - b=10.0.0.2\n", "extra_hosts sorted");
        contains(yaml, "    networks:\n      default: null\n", "default network attachment");
        contains(yaml, "        aliases:\n          - database\n", "aliases");
        contains(yaml, "      A: \"yes\"\n", "yes quoted");
        contains(yaml, "      B: \"123\"\n", "numeric string quoted");
        contains(yaml, "      H: null\n", "unset variable is null");
        contains(yaml, "      - -g\n      - daemon off;\n", "a dash argument stays plain");
        contains(yaml, "networks:\n  default:\n    name: demo_default\n", "top-level default network");
        contains(yaml, "volumes:\n  data:\n    name: demo_data\n", "top-level volume");
        contains(yaml, "x-stack:\n  max_orphans: 2\n", "x-stack");
        contains(yaml, "    x-custom:\n      \"n\": 1\n      t: true\n      s: text\n",
                 "extensions keep their types");
}

static void test_json(void)
{
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(full_yaml, &err);
        if (!p)
                return;
        _cleanup_free_ char *text = spec_project_format(p, SPEC_FORMAT_JSON);
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(text);
        if (!ok(j != NULL, "JSON output parses"))
                return;
        const cJSON *web = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "services"), "web");
        is_str(cJSON_GetStringValue(cJSON_GetObjectItem(web, "image")), "nginx:1.25", "image");
        const cJSON *port = cJSON_GetArrayItem(cJSON_GetObjectItem(web, "ports"), 0);
        is_int(cJSON_GetNumberValue(cJSON_GetObjectItem(port, "target")), 80, "target is a number");
        is_str(cJSON_GetStringValue(cJSON_GetObjectItem(port, "published")), "8080",
               "published is a string");
        ok(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(web, "environment"), "H")),
           "null env value");
        ok(text[strlen(text) - 1] == '\n', "ends with a newline");
        contains(text, "{\n  \"name\": \"demo\",\n  \"services\": {\n    \"db\": {\n",
                 "indented by two spaces");
        _cleanup_(cJSON_Deletep) cJSON *small =
            cJSON_Parse("{\"a\":[],\"b\":{},\"c\":[1,\"x\\\"y\"],\"d\\n\":null}");
        _cleanup_free_ char *pretty = spec_json_pretty(small);
        is_str(
            pretty,
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    \"x\\\"y\"\n  ],\n  \"d\\n\": null\n}\n",
            "pretty JSON with escapes");
}

static void test_uninterpolated(void)
{
        const char *yaml = "services:\n"
                           "  web:\n"
                           "    image: nginx:${TAG:-1}\n"
                           "    ports: [\"80:80\", \"${PORT:-8080}:80\"]\n"
                           "    mem_limit: ${MEM}\n"
                           "    volumes: [\"${DATA}:/data\"]\n";
        _cleanup_free_ char *e = load_error(yaml);
        contains(e, "services.web.ports[1]: invalid", "an expression is an error normally");

        test_no_interpolate = true;
        _cleanup_error_ struct stack_error err = {0};
        _cleanup_project_ struct stack_project *p = load_model(yaml, &err);
        test_no_interpolate = false;
        if (!ok(p != NULL, "without interpolation, keys holding expressions are kept as written"))
                return diag("%s", err.msg);
        _cleanup_free_ char *out = spec_project_format(p, SPEC_FORMAT_YAML);
        contains(out, "    ports:\n      - \"80:80\"\n      - ${PORT:-8080}:80\n", "ports shown as written");
        contains(out, "    mem_limit: ${MEM}\n", "mem_limit as written");
        contains(out, "    volumes:\n      - ${DATA}:/data\n", "volumes as written");
        contains(out, "    image: nginx:${TAG:-1}\n", "strings are strings anyway");
        _cleanup_free_ char *e2 = NULL;
        test_no_interpolate = true;
        e2 = load_error("services:\n  web:\n    image: x\n    ports: [\"abc:80\"]\n");
        test_no_interpolate = false;
        contains(e2, "invalid host port \"abc\"", "a real error without an expression stays an error");
}

static void test_scalars(void)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            {"plain", "plain\n"},
            {"", "\"\"\n"},
            {"true", "\"true\"\n"},
            {"No", "\"No\"\n"},
            {"1.5", "\"1.5\"\n"},
            {"1e3", "\"1e3\"\n"},
            {"a: b", "\"a: b\"\n"},
            {"a #b", "\"a #b\"\n"},
            {"*ref", "\"*ref\"\n"},
            {"tab\there", "\"tab\\there\"\n"},
            {"back\\slash", "back\\slash\n"},
            {"-x", "-x\n"},
            {"- x", "\"- x\"\n"},
            {"--flag", "\"--flag\"\n"},
            {"a:b", "a:b\n"},
            {"http://x", "http://x\n"},
            {"1_000", "\"1_000\"\n"},
            {"2024-01-01", "\"2024-01-01\"\n"},
            {"80:80", "\"80:80\"\n"},
            {"1.25-alpine", "1.25-alpine\n"},
            {".inf", "\".inf\"\n"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(cJSON_Deletep) cJSON *s = cJSON_CreateString(cases[i].in);
                _cleanup_free_ char *y = spec_json_to_yaml(s);
                is_str(y, cases[i].out, "scalar \"%s\"", cases[i].in);
        }
        _cleanup_(cJSON_Deletep) cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "empty_list", cJSON_CreateArray());
        cJSON_AddItemToObject(o, "empty_map", cJSON_CreateObject());
        cJSON_AddNumberToObject(o, "half", 0.5);
        cJSON_AddNumberToObject(o, "tenth", 0.1);
        cJSON *nested = cJSON_AddArrayToObject(o, "nested");
        cJSON *inner = cJSON_CreateArray();
        cJSON_AddItemToArray(inner, cJSON_CreateString("x"));
        cJSON_AddItemToArray(nested, inner);
        _cleanup_free_ char *y = spec_json_to_yaml(o);
        is_str(y, "empty_list: []\nempty_map: {}\nhalf: 0.5\ntenth: 0.1\nnested:\n  - - x\n", "collections");
}

static void test_sort(void)
{
        _cleanup_(cJSON_Deletep) cJSON *o =
            cJSON_Parse("{\"b\":1,\"a\":{\"d\":1,\"c\":2},\"c\":[{\"z\":1,\"y\":2}]}");
        spec_json_sort(o);
        char *s = cJSON_PrintUnformatted(o);
        is_str(s, "{\"a\":{\"c\":2,\"d\":1},\"b\":1,\"c\":[{\"y\":2,\"z\":1}]}", "sorted recursively");
        cJSON_free(s);
        cJSON_AddNumberToObject(o, "0", 1);
        s = cJSON_PrintUnformatted(o);
        contains(s, "\"0\":1}", "the list stays well linked after sorting");
        cJSON_free(s);
}

int main(void)
{
        test_env_init();
        test_yaml_round_trip();
        test_json();
        test_uninterpolated();
        test_scalars();
        test_sort();
        stack_kvlist_free(&test_env);
        return done_testing();
}
