/* The commands' --help texts read as documents: the one source that the man pages (`stack manpage`) and
 * the shell completions (`stack completion`) are generated from, so that a command added to the table in
 * cmd/main.c gets both without further work.
 *
 * A help text is read by its layout, which every command's --help follows:
 *   Usage: stack CMD ARGS            (more synopsis lines indented below it)
 *   <blank>
 *   Description paragraphs.
 *   Options:                         (a title line ending in ':'; entries may also come untitled)
 *     -x, --long ARG     What it does  (the text starts after a gap of two or more spaces, or at the
 *                        column the section's earlier entries use; deeper-indented lines continue it)
 *   <blank>
 *   Closing paragraphs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cmd/cmd.h"

struct help_entry {
        char *term; /* "-d, --detach", "--pull always|missing|never", "import PATH [REF]" */
        char *text;
};

struct help_section {
        char *title; /* "Options", "Commands"; NULL for entries without a title (options) */
        struct help_entry *entries;
        size_t n_entries;
};

struct help_doc {
        char **synopsis;   /* without "Usage: " */
        char **paragraphs; /* the description */
        struct help_section *sections;
        size_t n_sections;
        char **notes; /* paragraphs after the first section */
};

void helpdoc_parse(const char *text, struct help_doc *ret);
void helpdoc_done(struct help_doc *d);

/* The words of an entry's term: "-f, --file FILE" -> "-f" "--file" "FILE". */
char **helpdoc_term_words(const char *term);
/* The option words of the document's option entries ("-d", "--detach"); with_arg: only those that take an
 * argument ("--file FILE"). */
char **helpdoc_options(const struct help_doc *d, bool with_arg);
/* The first words of the entries of a "Commands" section (a command's subcommands, or stack's commands). */
char **helpdoc_subcommands(const struct help_doc *d);
/* Whether the synopsis names SERVICE arguments. */
bool helpdoc_takes_services(const struct help_doc *d);

/* The table of commands (cmd/main.c) and stack's own usage text. */
const struct cmd *cmd_table(size_t *ret_n);
void cmd_print_usage(FILE *f);

/* The --help text of command c (NULL: stack's own usage), as the command prints it. Runs it in a child
 * process with stdout and stderr captured, so that no command needs to know. Prints an error naming the
 * command when it fails or prints nothing. */
int helpdoc_capture(struct cmd_global *g, const struct cmd *c, char **ret);

int cmd_completion(struct cmd_global *g, int argc, char **argv);
int cmd_manpage(struct cmd_global *g, int argc, char **argv);
