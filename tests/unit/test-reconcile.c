/* The reconciler with a fake firewall: the publish step (what the firewall is asked to install from the
 * containers' records, host ports picked and written back), the port check before a change, and a
 * teardown from the records alone (the plan reported as an event under --dry-run, the firewall asked to
 * remove the project otherwise). No privileges: no bridge, rule or container is made. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"
#include "core/engine/reconcile-internal.h"
#include "tests/unit/tap.h"

/* ---- a firewall that records what it is asked ---- */

struct fake {
        unsigned applies, removes;
        char *last_rules;   /* fw_ruleset_format of the last apply */
        char *last_removed; /* project */
        struct fw_published published[2];
        size_t n_published;
        int apply_error; /* returned by apply when set */
};

static int fake_apply(struct firewall *fw, const struct fw_ruleset *rs, struct stack_error *err)
{
        struct fake *f = fw->userdata;
        f->applies++;
        if (f->apply_error)
                return stack_error_set(err, f->apply_error, "fake apply refused");
        free(f->last_rules);
        f->last_rules = fw_ruleset_format(rs);
        return 0;
}

static int fake_remove(struct firewall *fw, const char *project, struct stack_error *err)
{
        struct fake *f = fw->userdata;
        f->removes++;
        free(f->last_removed);
        f->last_removed = xstrdup(project);
        return 0;
}

static int fake_list(struct firewall *fw, struct fw_published **ret, size_t *ret_n, struct stack_error *err)
{
        struct fake *f = fw->userdata;
        struct fw_published *l = xcalloc(f->n_published + 1, sizeof(*l));
        for (size_t i = 0; i < f->n_published; i++) {
                l[i] = f->published[i];
                l[i].project = xstrdup(f->published[i].project);
                l[i].network = xstrdup(f->published[i].network);
        }
        *ret = l;
        *ret_n = f->n_published;
        return 0;
}

static const struct firewall_ops fake_ops = {
    .name = "fake", .apply = fake_apply, .remove_project = fake_remove, .list_published = fake_list};

static struct in_addr ip(const char *s)
{
        struct in_addr a;
        inet_pton(AF_INET, s, &a);
        return a;
}

/* ---- publish ---- */

static struct network_info front;

static int lookup(void *userdata, const char *key, struct network_info *ret, struct stack_error *err)
{
        unsigned *calls = userdata;
        (*calls)++;
        if (!streq(key, "front"))
                return stack_error_set(err, ENOENT, "network %s is not defined", key);
        *ret = front;
        return 0;
}

static struct container_record *record(const char *name, const char *spec)
{
        struct container_record *r = xcalloc(1, sizeof(*r));
        r->name = xstrdup(name);
        r->service = xstrdup("web");
        r->spec = cJSON_Parse(spec);
        return r;
}

static void test_publish(void)
{
        front = (struct network_info){
            .name = (char *) "shop_front", .bridge = "stk1", .has4 = true, .has6 = true};
        ipam_prefix_parse("10.88.1.0/24", &front.subnet4);
        ipam_addr_parse("10.88.1.1", &front.gateway4);

        struct fake f = {.n_published = 2};
        /* Another project holds 8443; this one already publishes container port 80 on 32800. */
        f.published[0] = (struct fw_published){.project = "other", .network = "n", .host_port = 8443};
        f.published[1] = (struct fw_published){.project = "shop",
                                               .network = "shop_front",
                                               .host_port = 32800,
                                               .container_ip = ip("10.88.1.2"),
                                               .container_port = 80};
        _cleanup_firewall_ struct firewall *fw = firewall_new(&fake_ops, &f);
        struct container_record *recs[2] = {
            record("shop-web-1", "{\"attachments\":[{\"network\":\"front\",\"network_name\":\"shop_front\","
                                 "\"addr4\":\"10.88.1.2\"}],\"ports\":[{\"target\":80,\"published\":0,"
                                 "\"host_ip\":\"0.0.0.0\",\"protocol\":\"tcp\"},{\"target\":443,"
                                 "\"published\":9443,\"protocol\":\"tcp\"},{\"target\":7,\"published\":7,"
                                 "\"protocol\":\"sctp\"}]}"),
            record("shop-db-1", "{\"attachments\":[{\"network\":\"front\",\"network_name\":\"shop_front\","
                                "\"addr4\":\"10.88.1.3\"}],\"ports\":[]}"),
        };
        bool changed[2] = {false, true};
        unsigned calls = 0;
        _cleanup_error_ struct stack_error err = {0};
        is_int(reconcile_publish_firewall(fw, "shop", recs, 2, lookup, &calls, changed, &err), 0, "publish");
        is_int((int) f.applies, 1, "one apply for the whole project");
        is_int((int) calls, 1, "the network is looked up once for both containers");
        contains(f.last_rules, "--dport 32800 -j DNAT --to-destination 10.88.1.2:80",
                 "a random port keeps the host port the project already has");
        contains(f.last_rules, "--dport 9443 -j DNAT --to-destination 10.88.1.2:443",
                 "a fixed port as given");
        ok(!strstr(f.last_rules, ":7\n"), "sctp is not published");
        contains(f.last_rules, "# ip6tables\n*filter\n", "the IPv6 isolation goes through the same apply");
        contains(f.last_rules, "-o stk1 -m comment --comment \"stack:shop:shop_front\" -j DROP",
                 "for the network's bridge");
        const cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(recs[0]->spec, "ports"), 0);
        is_int((int) cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p0, "published")), 32800,
               "the picked port is written into the record");
        ok(changed[0] && !changed[1], "and only that record is marked for saving");

        /* A backend's refusal comes back unchanged and nothing is written into the records. */
        cJSON_ReplaceItemInObject((cJSON *) p0, "published", cJSON_CreateNumber(0));
        f.apply_error = EADDRINUSE;
        changed[0] = false;
        is_int(reconcile_publish_firewall(fw, "shop", recs, 2, lookup, &calls, changed, &err), -EADDRINUSE,
               "a failed apply fails the publish");
        contains(err.msg, "fake apply refused", "with the backend's message");
        ok(!changed[0] && cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p0, "published")) == 0,
           "and no record is changed");
        stack_error_clear(&err);

        struct container_record *bad[1] = {
            record("shop-x-1", "{\"attachments\":[],\"ports\":[{\"target\":80,\"published\":8080}]}")};
        unsigned before = f.applies;
        is_int(reconcile_publish_firewall(fw, "shop", bad, 1, lookup, &calls, changed, &err), -EINVAL,
               "ports without an IPv4 address are refused");
        contains(err.msg, "shop-x-1", "naming the container");
        is_int((int) f.applies, (int) before, "before the firewall is touched");
        container_record_free(bad[0]);
        container_record_free(recs[0]);
        container_record_free(recs[1]);
        free(f.last_rules);
}

/* ---- the port check before anything changes ---- */

static void test_check_ports(void)
{
        struct fake f = {.n_published = 1};
        f.published[0] =
            (struct fw_published){.project = "other", .network = "other_default", .host_port = 8080};
        _cleanup_firewall_ struct firewall *fw = firewall_new(&fake_ops, &f);
        struct stack_port port = {.target = 80, .published_start = 8080, .published_end = 8080};
        struct stack_service s = {.name = (char *) "web", .ports = &port, .n_ports = 1, .scale = 1};
        struct stack_project p = {.name = (char *) "shop", .services = &s, .n_services = 1};
        _cleanup_error_ struct stack_error err = {0};
        is_int(reconcile_check_project_ports(fw, &p, &err), -EADDRINUSE,
               "a host port another project publishes is refused");
        contains(err.msg, "other", "naming the project that has it");
        is_int((int) f.applies, 0, "and nothing is applied");
        stack_error_clear(&err);

        f.published[0].project = (char *) "shop";
        is_int(reconcile_check_project_ports(fw, &p, &err), 0, "the project's own port is no clash");
        port.published_start = port.published_end = 0;
        f.n_published = 0;
        is_int(reconcile_check_project_ports(fw, &p, &err), 0, "a random port is not checked up front");
}

/* ---- a teardown from the records ---- */

struct seen {
        size_t removes, plans;
        char *warnings;
};

static void on_plan(void *userdata, const struct plan *plan)
{
        struct seen *s = userdata;
        s->plans++;
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == PLAN_REMOVE_CONTAINER &&
                    streq(plan->actions[i].target, "shop-web-1"))
                        s->removes++;
}

static void on_warning(void *userdata, const char *msg)
{
        struct seen *s = userdata;
        free(s->warnings);
        s->warnings = xstrdup(msg);
}

static void test_down(void)
{
        char root[] = "/tmp/test-reconcile-XXXXXX";
        ok(mkdtemp(root) != NULL, "temp root");
        _cleanup_free_ char *run_root = path_join(root, "run");
        struct container_record rec = {
            .name = (char *) "shop-web-1",
            .service = (char *) "web",
            .number = 1,
            .config_hash = (char *) "h",
            .image_id = (char *) "sha256:0",
        };
        _cleanup_error_ struct stack_error err = {0};
        is_int(state_container_write(root, "shop", &rec, &err), 0, "a container record");

        struct seen seen = {0};
        struct reconcile_events ev = {.userdata = &seen, .plan = on_plan, .warning = on_warning};
        struct fake f = {0};
        _cleanup_firewall_ struct firewall *fw = firewall_new(&fake_ops, &f);
        struct reconcile_config c = {
            .root = root,
            .run_root = run_root,
            .runtime = "true", /* any executable: the container is gone for it, as after a crash */
            .parallel = 1,
            .dry_run = true,
            .stop_timeout_usec = -1,
            .events = &ev,
            .firewall = fw,
        };
        struct plan_options o = {.down = true, .max_orphans = -1};
        is_int(reconcile_down(&c, "shop", NULL, &o, &err), 0, "down --dry-run from the records");
        is_int((int) seen.plans, 1, "the plan is handed over as an event");
        is_int((int) seen.removes, 1, "removing the recorded container");
        ok(f.removes == 0 && f.applies == 0, "a dry run leaves the firewall alone");

        /* Without the container record, a real teardown still clears the firewall: a crash may have left
         * rules that no record names. */
        _cleanup_free_ char *dir = xasprintf("%s/projects", root);
        ok(rm_rf(dir, &err) >= 0, "records gone");
        c.dry_run = false;
        is_int(reconcile_down(&c, "shop", NULL, &o, &err), 0, "down without records");
        is_int((int) f.removes, 1, "the firewall is asked to remove the project");
        is_str(f.last_removed, "shop", "by name");
        free(f.last_removed);
        free(seen.warnings);
        ok(rm_rf(root, &err) >= 0, "clean up");
}

int main(void)
{
        test_publish();
        test_check_ports();
        test_down();
        return done_testing();
}
