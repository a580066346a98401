/* Reading the commands' --help texts as documents (see helpdoc.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/helpdoc.h"
#include "core/base/cleanup.h"
#include "core/base/fileio.h"
#include "core/base/util.h"

/* Entries are indented by at most this much; deeper lines continue the entry above. */
#define ENTRY_INDENT_MAX 6

static size_t indent_of(const char *l)
{
        return strspn(l, " ");
}

static bool is_title(const char *l)
{
        size_t n = strlen(l);
        return n > 1 && l[0] >= 'A' && l[0] <= 'Z' && l[n - 1] == ':' && !strchr(l, ' ');
}

static void append_text(char **s, const char *more)
{
        char *n = *s ? xasprintf("%s %s", *s, more) : xstrdup(more);
        free(*s);
        *s = n;
}

struct parser {
        struct help_doc *d;
        struct help_section *section; /* the open section, NULL before the first */
        size_t column;                /* where the open section's texts start (0: not known yet) */
        bool in_entry;                /* the last line was an entry or continued one */
        char *paragraph;              /* the paragraph being gathered */
};

static void end_paragraph(struct parser *p)
{
        if (!p->paragraph)
                return;
        strv_consume(p->d->n_sections ? &p->d->notes : &p->d->paragraphs, p->paragraph);
        p->paragraph = NULL;
}

static struct help_section *open_section(struct parser *p, const char *title)
{
        struct help_doc *d = p->d;
        d->sections = xrealloc(d->sections, (d->n_sections + 1) * sizeof(*d->sections));
        p->section = &d->sections[d->n_sections++];
        *p->section = (struct help_section){.title = title ? xstrdup(title) : NULL};
        p->column = 0;
        return p->section;
}

/* Splits an entry line at its gap: two or more spaces, or else the section's text column. */
static void add_entry(struct parser *p, const char *line)
{
        const char *body = line + indent_of(line);
        const char *gap = strstr(body, "  ");
        size_t col = gap ? (size_t) (gap - line) + strspn(gap, " ") : 0;
        if (!gap && p->column && strlen(line) > p->column && line[p->column - 1] == ' ')
                col = p->column;
        if (!p->section)
                open_section(p, NULL);
        struct help_section *s = p->section;
        s->entries = xrealloc(s->entries, (s->n_entries + 1) * sizeof(*s->entries));
        struct help_entry *e = &s->entries[s->n_entries++];
        if (col) {
                e->term = xstrndup(body, (size_t) (line + col - body));
                e->text = xstrdup(line + col);
                p->column = p->column ? p->column : col;
        } else {
                e->term = xstrdup(body);
                e->text = NULL;
        }
        /* The term ends at the gap: drop the spaces kept before the column. */
        for (size_t n = strlen(e->term); n > 0 && e->term[n - 1] == ' '; n--)
                e->term[n - 1] = '\0';
        p->in_entry = true;
}

static void parse_line(struct parser *p, const char *line)
{
        size_t ind = indent_of(line);
        if (!line[ind]) {
                end_paragraph(p);
                p->in_entry = false;
                return;
        }
        if (is_title(line)) {
                end_paragraph(p);
                char *t = xstrndup(line, strlen(line) - 1);
                open_section(p, t);
                free(t);
                return;
        }
        bool entry_like = ind > 0 && ind <= ENTRY_INDENT_MAX && (line[ind] == '-' || p->section);
        if (ind > ENTRY_INDENT_MAX && p->in_entry) {
                struct help_entry *e = &p->section->entries[p->section->n_entries - 1];
                append_text(&e->text, line + ind);
        } else if (entry_like && !p->paragraph) {
                add_entry(p, line);
        } else {
                p->in_entry = false;
                append_text(&p->paragraph, line + ind);
        }
}

void helpdoc_parse(const char *text, struct help_doc *ret)
{
        *ret = (struct help_doc){.synopsis = xcalloc(1, sizeof(char *)),
                                 .paragraphs = xcalloc(1, sizeof(char *)),
                                 .notes = xcalloc(1, sizeof(char *))};
        struct parser p = {.d = ret};
        _cleanup_strv_free_ char **lines = strv_split(text, "\n");
        char **l = lines;
        if (*l && startswith(*l, "Usage: ")) {
                strv_push(&ret->synopsis, *l + strlen("Usage: "));
                /* More synopsis lines are indented under the first. */
                for (l++; *l && **l == ' ' && (*l)[indent_of(*l)]; l++)
                        strv_push(&ret->synopsis, *l + indent_of(*l));
        }
        for (; *l; l++)
                parse_line(&p, *l);
        end_paragraph(&p);
}

void helpdoc_done(struct help_doc *d)
{
        strv_free(d->synopsis);
        strv_free(d->paragraphs);
        strv_free(d->notes);
        for (size_t i = 0; i < d->n_sections; i++) {
                for (size_t j = 0; j < d->sections[i].n_entries; j++) {
                        free(d->sections[i].entries[j].term);
                        free(d->sections[i].entries[j].text);
                }
                free(d->sections[i].entries);
                free(d->sections[i].title);
        }
        free(d->sections);
        *d = (struct help_doc){0};
}

static bool is_commands(const struct help_section *s)
{
        return s->title && streq(s->title, "Commands");
}

char **helpdoc_term_words(const char *term)
{
        _cleanup_free_ char *t = xstrdup(term);
        for (char *c = t; *c; c++)
                if (*c == ',')
                        *c = ' ';
        _cleanup_strv_free_ char **all = strv_split(t, " ");
        char **l = xcalloc(1, sizeof(char *));
        STRV_FOREACH (w, all)
                if (**w)
                        strv_push(&l, *w);
        return l;
}

/* "-f, --file FILE" -> -f --file (and whether an argument follows). */
static void term_options(const char *term, bool with_arg, char ***l)
{
        _cleanup_strv_free_ char **words = helpdoc_term_words(term);
        bool arg = false;
        STRV_FOREACH (w, words)
                if (**w && **w != '-')
                        arg = true;
        if (with_arg && !arg)
                return;
        STRV_FOREACH (w, words) {
                /* "--pull always|missing|never" and "--ansi=MODE" name the option before the value. */
                size_t n = strcspn(*w, "=[");
                if ((*w)[0] == '-' && n > 1) {
                        _cleanup_free_ char *o = xstrndup(*w, n);
                        if (!strv_contains(*l, o))
                                strv_push(l, o);
                }
        }
}

char **helpdoc_options(const struct help_doc *d, bool with_arg)
{
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < d->n_sections; i++)
                for (size_t j = 0; !is_commands(&d->sections[i]) && j < d->sections[i].n_entries; j++)
                        term_options(d->sections[i].entries[j].term, with_arg, &l);
        return l;
}

char **helpdoc_subcommands(const struct help_doc *d)
{
        char **l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < d->n_sections; i++)
                for (size_t j = 0; is_commands(&d->sections[i]) && j < d->sections[i].n_entries; j++) {
                        const char *t = d->sections[i].entries[j].term;
                        _cleanup_free_ char *w = xstrndup(t, strcspn(t, " "));
                        if (*w != '-' && !strv_contains(l, w))
                                strv_push(&l, w);
                }
        return l;
}

bool helpdoc_takes_services(const struct help_doc *d)
{
        STRV_FOREACH (s, d->synopsis)
                if (strstr(*s, "SERVICE"))
                        return true;
        return false;
}

/* In the child: prints the help and leaves. */
static _Noreturn void print_help(struct cmd_global *g, const struct cmd *c, int fd)
{
        if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(EXIT_ERROR);
        if (!c) {
                cmd_print_usage(stdout);
                fflush(stdout);
                _exit(EXIT_OK);
        }
        char *argv[] = {(char *) c->name, (char *) "--help", NULL};
        optind = 0;
        int r = c->run(g, 2, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(r);
}

int helpdoc_capture(struct cmd_global *g, const struct cmd *c, char **ret)
{
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(fds[0]);
                close(fds[1]);
                return -e;
        }
        if (pid == 0) {
                close(fds[0]);
                print_help(g, c, fds[1]);
        }
        close(fds[1]);
        _cleanup_close_ int rfd = fds[0];
        _cleanup_free_ char *text = NULL;
        int r = read_full_fd(rfd, &text, NULL);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || isempty(text)))
                r = -EPROTO;
        if (r < 0) {
                fprintf(stderr, "stack: '%s --help' printed no usage (%s)\n", c ? c->name : "stack",
                        strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(text);
        return 0;
}
