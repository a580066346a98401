/* A project's images: decide per service, then pull (in parallel, once per image) or build. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/cleanup.h"
#include "core/base/log.h"
#include "core/base/util.h"
#include "core/engine/images.h"
#include "core/image/reference.h"
#include "spec/units.h"

#define DAY_USEC (24ull * 3600 * 1000000)

int images_decide(const struct stack_service *svc, const char *policy_override, bool present,
                  uint64_t pulled_at, uint64_t now, enum images_decision *ret, struct stack_error *err)
{
        const char *policy = policy_override ? policy_override : svc->pull_policy;
        if (!policy || streq(policy, "if_not_present"))
                policy = "missing";
        bool buildable = svc->build.present;
        if (streq(policy, "build")) {
                *ret = IMAGES_BUILD;
                return 0;
        }
        if (streq(policy, "always")) {
                *ret = IMAGES_PULL;
                return 0;
        }
        if (streq(policy, "never")) {
                *ret = present ? IMAGES_USE : IMAGES_MISSING;
                return 0;
        }
        if (streq(policy, "missing")) {
                /* As compose: a service that can be built is built when its image is absent. */
                *ret = present ? IMAGES_USE : buildable ? IMAGES_BUILD : IMAGES_PULL;
                return 0;
        }
        uint64_t every;
        if (streq(policy, "daily"))
                every = DAY_USEC;
        else if (streq(policy, "weekly"))
                every = 7 * DAY_USEC;
        else if (startswith(policy, "every_")) {
                int64_t usec;
                if (units_parse_duration(policy + strlen("every_"), &usec) < 0 || usec <= 0)
                        return stack_error_set(err, EINVAL, "service %s: invalid pull policy \"%s\"",
                                               svc->name, policy);
                every = (uint64_t) usec;
        } else
                return stack_error_set(
                    err, EINVAL,
                    "service %s: invalid pull policy \"%s\" (expected always, missing, never, "
                    "build, daily, weekly or every_<duration>)",
                    svc->name, policy);
        /* An image imported rather than pulled has no pull time: it is as old as can be. */
        *ret = present && pulled_at > 0 && now >= pulled_at && now - pulled_at < every ? IMAGES_USE
                                                                                       : IMAGES_PULL;
        return 0;
}

struct pull_job {
        char *ref; /* normalized */
        const char *platform;
        char **services; /* who wants it, for messages */
        int r;
        struct stack_error err;
};

struct pull_pool {
        struct image_store *s;
        struct registry_client *c;
        struct pull_job *jobs;
        size_t n, next;
        pthread_mutex_t lock;
};

static void *pull_worker(void *arg)
{
        struct pull_pool *p = arg;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next < p->n ? p->next++ : p->n;
                pthread_mutex_unlock(&p->lock);
                if (i >= p->n)
                        return NULL;
                struct pull_job *j = &p->jobs[i];
                j->r = registry_pull(p->c, p->s, j->ref, j->platform, NULL, &j->err);
        }
}

static void run_pulls(struct pull_pool *pool, int parallel)
{
        size_t nt = pool->n < (size_t) parallel ? pool->n : (size_t) parallel;
        pthread_t *th = xcalloc(nt ? nt : 1, sizeof(*th));
        size_t started = 0;
        for (; started < nt; started++)
                if (pthread_create(&th[started], NULL, pull_worker, pool) != 0)
                        break;
        if (started == 0)
                pull_worker(pool);
        for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        free(th);
}

static void add_with_deps(const struct stack_project *p, const char *name, char ***l)
{
        if (strv_contains(*l, name))
                return;
        strv_push(l, name);
        const struct stack_service *s = stack_project_service(p, name);
        for (size_t i = 0; s && i < s->n_depends_on; i++)
                add_with_deps(p, s->depends_on[i].service, l);
}

/* The services whose images are wanted; NULL: all. */
static char **selection(const struct stack_project *p, const struct images_options *o)
{
        if (!o->services)
                return NULL;
        if (!o->include_deps)
                return strv_copy(o->services);
        char **l = xcalloc(1, sizeof(char *));
        STRV_FOREACH (s, o->services)
                add_with_deps(p, *s, &l);
        return l;
}

static struct pull_job *job_for(struct pull_job **jobs, size_t *n, size_t *cap, const char *ref,
                                const char *platform)
{
        for (size_t i = 0; i < *n; i++)
                if (streq((*jobs)[i].ref, ref) && streq_ptr((*jobs)[i].platform, platform))
                        return &(*jobs)[i];
        GROW(*jobs, *cap, *n + 1);
        struct pull_job *j = &(*jobs)[(*n)++];
        *j = (struct pull_job){
            .ref = xstrdup(ref), .platform = platform, .services = xcalloc(1, sizeof(char *))};
        return j;
}

int images_ensure(struct image_store *s, const struct stack_project *p, const struct images_options *o,
                  struct stack_error *err)
{
        struct pull_job *jobs = NULL;
        size_t n = 0, cap = 0;
        struct strbuf failures = {0};
        size_t n_failed = 0;
        uint64_t now = realtime_usec();
        int r = 0;
        _cleanup_strv_free_ char **wanted = selection(p, o);
        _cleanup_strv_free_ char **found = NULL;
        for (size_t i = 0; i < p->n_services && r >= 0; i++) {
                const struct stack_service *svc = &p->services[i];
                if (wanted && !strv_contains(wanted, svc->name))
                        continue;
                enum images_decision d = IMAGES_USE;
                bool present = false;
                _cleanup_free_ char *norm = NULL;
                if (svc->image) {
                        _cleanup_error_ struct stack_error e2 = {0};
                        if (reference_normalize(svc->image, &norm, &e2) < 0) {
                                r = stack_error_set(err, EINVAL, "service %s: %s", svc->name, e2.msg);
                                break;
                        }
                        /* Services sharing an image look it up once. */
                        struct image *img = NULL;
                        present = strv_contains(found, norm) || image_lookup(s, norm, &img, NULL) >= 0;
                        if (img) {
                                strv_push(&found, norm);
                                image_free(img);
                        }
                }
                r = images_decide(svc, o->policy, present, norm ? image_pull_time(s, norm) : 0, now, &d,
                                  err);
                if (r < 0)
                        break;
                if (d == IMAGES_BUILD || (d == IMAGES_PULL && !norm)) {
                        if (!o->build) {
                                strbuf_printf(&failures, "%sservice %s: building images is not available",
                                              n_failed++ ? "; " : "", svc->name);
                                continue;
                        }
                        _cleanup_error_ struct stack_error e2 = {0};
                        if (o->build(o->build_userdata, svc, &e2) < 0)
                                strbuf_printf(&failures, "%sservice %s: build: %s", n_failed++ ? "; " : "",
                                              svc->name, e2.msg);
                        continue;
                }
                if (d != IMAGES_PULL)
                        continue; /* absent under "never": the reconciler says so with its own message */
                const char *platform = o->platform ? o->platform : svc->platform;
                struct pull_job *j = job_for(&jobs, &n, &cap, norm, platform);
                strv_push(&j->services, svc->name);
        }
        if (r >= 0 && n > 0) {
                _cleanup_registry_client_ struct registry_client *c = registry_client_new(&o->registry);
                struct pull_pool pool = {.s = s, .c = c, .jobs = jobs, .n = n};
                pthread_mutex_init(&pool.lock, NULL);
                run_pulls(&pool, o->parallel > 0 ? o->parallel : 4);
                pthread_mutex_destroy(&pool.lock);
                for (size_t i = 0; i < n; i++) {
                        if (jobs[i].r >= 0)
                                continue;
                        _cleanup_free_ char *who = strv_join(jobs[i].services, ", ");
                        if (o->ignore_failures) {
                                log_warning("service %s: %s", who, jobs[i].err.msg);
                                continue;
                        }
                        strbuf_printf(&failures, "%sservice %s: %s", n_failed++ ? "; " : "", who,
                                      jobs[i].err.msg);
                }
        }
        for (size_t i = 0; i < n; i++) {
                free(jobs[i].ref);
                strv_free(jobs[i].services);
                stack_error_clear(&jobs[i].err);
        }
        free(jobs);
        if (r >= 0 && n_failed > 0)
                r = stack_error_set(err, EIO, "%s", failures.buf);
        strbuf_free(&failures);
        return r;
}
