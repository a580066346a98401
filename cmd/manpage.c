/* `stack manpage [COMMAND]`: stack(1) and stack-COMMAND(1) in roff, written from the command table and the
 * commands' own --help texts (helpdoc.h), so the pages say what the binary does. `--list` prints the page
 * names the build makes. Hidden: the build's tool, not a user's. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/helpdoc.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"

/* Text for roff: backslashes escaped, and a line may not start with a control character. */
static void roff_text(FILE *f, const char *s)
{
        if (*s == '.' || *s == '\'')
                fputs("\\&", f);
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\e", f);
                else if (*s == '-')
                        fputs("\\-", f);
                else
                        fputc(*s, f);
        }
}

static void print_section(FILE *f, const struct help_section *s)
{
        _cleanup_free_ char *title = xstrdup(s->title ? s->title : "Options");
        for (char *c = title; *c; c++)
                *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        fprintf(f, ".SH %s\n", title);
        for (size_t i = 0; i < s->n_entries; i++) {
                fputs(".TP\n\\fB", f);
                roff_text(f, s->entries[i].term);
                fputs("\\fR\n", f);
                roff_text(f, s->entries[i].text ? s->entries[i].text : "");
                fputc('\n', f);
        }
}

static void print_paragraphs(FILE *f, char *const *l)
{
        STRV_FOREACH (p, l) {
                if (p != l)
                        fputs(".PP\n", f);
                roff_text(f, *p);
                fputc('\n', f);
        }
}

static void print_page(FILE *f, const char *name, const char *summary, const struct help_doc *d,
                       const struct cmd *table, size_t n)
{
        _cleanup_free_ char *upper = xstrdup(name);
        for (char *c = upper; *c; c++)
                *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        fprintf(f, ".TH %s 1 \"\" \"stack %s\" \"stack manual\"\n.SH NAME\n%s \\- ", upper, PACKAGE_VERSION,
                name);
        roff_text(f, summary);
        fputs("\n.SH SYNOPSIS\n", f);
        STRV_FOREACH (s, d->synopsis) {
                fputs(s == d->synopsis ? "" : ".br\n", f);
                roff_text(f, *s);
                fputc('\n', f);
        }
        if (d->paragraphs[0]) {
                fputs(".SH DESCRIPTION\n", f);
                print_paragraphs(f, d->paragraphs);
        }
        for (size_t i = 0; i < d->n_sections; i++)
                print_section(f, &d->sections[i]);
        if (d->notes[0]) {
                fputs(".SH NOTES\n", f);
                print_paragraphs(f, d->notes);
        }
        fputs(".SH EXIT STATUS\n0 on success, 1 on an error, 2 on a usage error; commands that run a "
              "container's process return its exit status.\n.SH SEE ALSO\n",
              f);
        if (!table) {
                fputs(".BR stack (1)\n", f);
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (!table[i].hidden)
                        fprintf(f, ".BR stack\\-%s (1)%s\n", table[i].name, i + 1 < n ? "," : "");
}

static int list_pages(void)
{
        size_t n;
        const struct cmd *t = cmd_table(&n);
        puts("stack");
        for (size_t i = 0; i < n; i++)
                if (!t[i].hidden)
                        printf("stack-%s\n", t[i].name);
        return EXIT_OK;
}

static const struct cmd *find(const char *name)
{
        size_t n;
        const struct cmd *t = cmd_table(&n);
        for (size_t i = 0; i < n; i++)
                if (streq(t[i].name, name))
                        return &t[i];
        return NULL;
}

int cmd_manpage(struct cmd_global *g, int argc, char **argv)
{
        if (argc == 2 && streq(argv[1], "--list"))
                return list_pages();
        if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
                fputs("Usage: stack manpage [--list | COMMAND]\n", argc == 2 ? stdout : stderr);
                return argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help")) ? EXIT_OK
                                                                                       : EXIT_USAGE;
        }
        const struct cmd *c = argc == 2 ? find(argv[1]) : NULL;
        if (argc == 2 && !c)
                return cmd_usage_error("manpage", "unknown command \"%s\"", argv[1]);
        _cleanup_free_ char *text = NULL;
        if (helpdoc_capture(g, c, &text) < 0)
                return EXIT_ERROR;
        struct help_doc d;
        helpdoc_parse(text, &d);
        size_t n;
        const struct cmd *table = cmd_table(&n);
        if (c) {
                _cleanup_free_ char *name = xasprintf("stack-%s", c->name);
                print_page(stdout, name, c->summary, &d, NULL, 0);
        } else
                print_page(stdout, "stack", "a declarative multi-container orchestrator for one Linux host",
                           &d, table, n);
        helpdoc_done(&d);
        return EXIT_OK;
}
