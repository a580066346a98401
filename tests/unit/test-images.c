/* images_decide: compose's pull_policy values against presence and the last pull's age. */
#include <stdlib.h>

#include "core/base/cleanup.h"
#include "core/base/util.h"
#include "core/engine/images.h"
#include "tests/unit/tap.h"

#define HOUR (3600ull * 1000000)

static enum images_decision decide(const char *policy, const char *override, bool build, bool present,
                                   uint64_t age_usec)
{
        struct stack_service svc = {.name = (char *) "web", .pull_policy = (char *) policy};
        svc.build.present = build;
        uint64_t now = 1000 * HOUR;
        enum images_decision d = IMAGES_USE;
        struct stack_error err = {0};
        int r = images_decide(&svc, override, present, age_usec == UINT64_MAX ? 0 : now - age_usec, now, &d,
                              &err);
        if (r < 0) {
                diag("error: %s", err.msg);
                stack_error_clear(&err);
                return (enum images_decision) - 1;
        }
        return d;
}

int main(void)
{
        is_int(decide(NULL, NULL, false, false, 0), IMAGES_PULL, "default: absent is pulled");
        is_int(decide(NULL, NULL, false, true, 0), IMAGES_USE, "default: present is used");
        is_int(decide("if_not_present", NULL, false, false, 0), IMAGES_PULL, "if_not_present is missing");
        is_int(decide("always", NULL, false, true, 0), IMAGES_PULL, "always pulls a present image");
        is_int(decide("never", NULL, false, false, 0), IMAGES_MISSING, "never does not pull");
        is_int(decide("never", NULL, false, true, 0), IMAGES_USE, "never uses what is there");
        is_int(decide("build", NULL, true, true, 0), IMAGES_BUILD, "build always builds");
        is_int(decide("missing", NULL, true, false, 0), IMAGES_BUILD, "absent with build: is built");
        is_int(decide("missing", NULL, true, true, 0), IMAGES_USE, "present with build: is used");
        is_int(decide("daily", NULL, false, true, 2 * HOUR), IMAGES_USE, "daily: pulled 2h ago is used");
        is_int(decide("daily", NULL, false, true, 25 * HOUR), IMAGES_PULL,
               "daily: pulled 25h ago is pulled");
        is_int(decide("daily", NULL, false, true, UINT64_MAX), IMAGES_PULL,
               "daily: never pulled (imported)");
        is_int(decide("weekly", NULL, false, true, 100 * HOUR), IMAGES_USE, "weekly: 100h is recent");
        is_int(decide("every_2h", NULL, false, true, 3 * HOUR), IMAGES_PULL, "every_2h: 3h is old");
        is_int(decide("every_2h", NULL, false, true, 1 * HOUR), IMAGES_USE, "every_2h: 1h is recent");
        is_int((int) decide("every_x", NULL, false, true, 0), -1, "every_x is refused");
        is_int(decide("never", "always", false, true, 0), IMAGES_PULL, "--pull always overrides never");
        is_int(decide("always", "never", false, false, 0), IMAGES_MISSING, "--pull never overrides always");
        is_int(decide("always", "missing", false, true, 0), IMAGES_USE, "--pull missing overrides always");
        return done_testing();
}
