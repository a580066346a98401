/* compose's progress display, drawn from the reconciler's events (progress.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/progress.h"
#include "core/base/cleanup.h"
#include "core/base/json.h"
#include "core/base/log.h"
#include "core/base/util.h"

/* compose's progress words for each action and phase */
static const char *progress_word(enum plan_action_kind kind, bool done)
{
        switch (kind) {
        case PLAN_CREATE_NETWORK:
        case PLAN_CREATE_VOLUME:
        case PLAN_CREATE_CONTAINER:
                return done ? "Created" : "Creating";
        case PLAN_START_CONTAINER:
                return done ? "Started" : "Starting";
        case PLAN_WAIT_SERVICE:
                return done ? "Healthy" : "Waiting";
        case PLAN_STOP_CONTAINER:
                return done ? "Stopped" : "Stopping";
        case PLAN_REMOVE_CONTAINER:
        case PLAN_REMOVE_NETWORK:
        case PLAN_REMOVE_VOLUME:
                return done ? "Removed" : "Removing";
        case PLAN_PUBLISH_PORTS:
                return done ? "Published" : "Publishing";
        }
        return "";
}

static const char *progress_noun(enum plan_action_kind kind)
{
        switch (kind) {
        case PLAN_CREATE_NETWORK:
        case PLAN_REMOVE_NETWORK:
                return "Network";
        case PLAN_CREATE_VOLUME:
        case PLAN_REMOVE_VOLUME:
                return "Volume";
        case PLAN_PUBLISH_PORTS:
                return "Ports";
        case PLAN_WAIT_SERVICE:
                return "Service";
        default:
                return "Container";
        }
}

static bool progress_color = true;

void progress_set_color(bool color)
{
        progress_color = color;
}

/* One JSON object per line, the shape of compose's --progress json: the object and its status word. */
static void draw_json(const char *noun, const char *target, const char *word)
{
        _cleanup_free_ char *id = xasprintf("%s %s", noun, target);
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", id);
        cJSON_AddStringToObject(j, "status", word);
        _cleanup_free_ char *text = cJSON_PrintUnformatted(j);
        fprintf(stderr, "%s\n", text);
}

/* width: the column the target is padded to on a terminal, so the words line up. A failure is a red
 * cross, never a check mark. */
static void draw(enum progress_mode mode, const char *noun, int width, const char *target, const char *word,
                 bool done, bool failed)
{
        const char *mark = failed ? "✘" : "✔";
        if (mode == PROGRESS_TTY && progress_color)
                fprintf(stderr, " \033[%sm%s\033[0m %s %-*s %s\n", failed ? "31" : (done ? "32" : "33"),
                        mark, noun, width, target, word);
        else if (mode == PROGRESS_TTY)
                fprintf(stderr, " %s %s %-*s %s\n", mark, noun, width, target, word);
        else if (mode == PROGRESS_PLAIN)
                fprintf(stderr, " %s %s %s\n", noun, target, word);
        else if (mode == PROGRESS_JSON)
                draw_json(noun, target, word);
}

static void on_action(void *userdata, const struct plan_action *a, enum reconcile_phase phase,
                      const struct stack_error *err)
{
        enum progress_mode mode = *(const enum progress_mode *) userdata;
        if (mode == PROGRESS_QUIET)
                return;
        bool done = phase == RECONCILE_DONE;
        if (a->kind == PLAN_WAIT_SERVICE && done && a->condition != STACK_DEP_HEALTHY)
                return;
        if (a->kind == PLAN_PUBLISH_PORTS)
                return;
        /* Orphans go with a line that says why, so a removal beyond max_orphans is never a surprise. */
        if (a->kind == PLAN_REMOVE_CONTAINER && phase == RECONCILE_START && a->reason &&
            startswith(a->reason, "orphan")) {
                _cleanup_free_ char *why = xasprintf("Removing: %s", a->reason);
                draw(mode == PROGRESS_JSON ? mode : PROGRESS_PLAIN, "Container", 0, a->target, why, false,
                     false);
        }
        bool failed = phase == RECONCILE_FAILED;
        const char *word = failed ? "Error" : progress_word(a->kind, done);
        draw(mode, progress_noun(a->kind), 24, a->target, word, done, failed);
}

static void on_plan(void *userdata, const struct plan *plan)
{
        _cleanup_free_ char *text = plan_format(plan);
        fputs(text, stdout);
}

static void on_warning(void *userdata, const char *msg)
{
        log_warning("%s", msg);
}

static const enum progress_mode modes[] = {PROGRESS_PLAIN, PROGRESS_TTY, PROGRESS_QUIET, PROGRESS_JSON};

static const struct reconcile_events tables[] = {
    {(void *) &modes[PROGRESS_PLAIN], on_action, on_plan, on_warning},
    {(void *) &modes[PROGRESS_TTY], on_action, on_plan, on_warning},
    {(void *) &modes[PROGRESS_QUIET], on_action, on_plan, on_warning},
    {(void *) &modes[PROGRESS_JSON], on_action, on_plan, on_warning},
};

bool progress_mode_valid(const char *option)
{
        static const char *const valid[] = {"auto", "tty", "plain", "json", "quiet"};
        for (size_t i = 0; option && i < ELEMENTSOF(valid); i++)
                if (streq(option, valid[i]))
                        return true;
        return false;
}

enum progress_mode progress_mode_from(const char *option)
{
        if (option && streq(option, "quiet"))
                return PROGRESS_QUIET;
        if (option && streq(option, "json"))
                return PROGRESS_JSON;
        if (option && (streq(option, "tty") || (streq(option, "auto") && isatty(STDERR_FILENO))))
                return PROGRESS_TTY;
        return PROGRESS_PLAIN;
}

const struct reconcile_events *progress_events(enum progress_mode mode)
{
        return &tables[mode <= PROGRESS_JSON ? mode : PROGRESS_PLAIN];
}

enum progress_mode progress_mode_of(const struct reconcile_events *events)
{
        for (size_t i = 0; i < ELEMENTSOF(tables); i++)
                if (events == &tables[i])
                        return modes[i];
        return PROGRESS_QUIET;
}

void progress_line(const struct reconcile_events *events, const char *noun, const char *target,
                   const char *word)
{
        /* The column of the "Container" lines: the words of both kinds line up. */
        int width = (int) strlen("Container") + 24 - (int) strlen(noun);
        draw(progress_mode_of(events), noun, width > 0 ? width : 0, target, word, true, false);
}
