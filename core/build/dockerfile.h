/* Dockerfiles: the parser (text -> stages of instructions) and the word processing the builder applies
 * when it runs an instruction (variable substitution, quote removal, word splitting).
 *
 * Pure functions of their input, so every rule is unit-tested. The parser follows the Dockerfile
 * reference: parser directives (`# escape=`, `# syntax=`, `# check=`) on the first lines, line
 * continuations with the escape character, comment lines (also inside a continuation), exec (JSON) and
 * shell forms, `--flag=value` options, and heredocs (`RUN <<EOF`, `<<-EOF`, quoted delimiters). Errors are
 * located: "Dockerfile:12:1: unknown instruction "RUNN"". Variables are substituted when an instruction
 * runs, not here, because their values depend on ARG and ENV as the build reaches that line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/base/error.h"
#include "spec/model.h"

enum df_kind {
        DF_FROM,
        DF_RUN,
        DF_COPY,
        DF_ADD,
        DF_ENV,
        DF_ARG,
        DF_LABEL,
        DF_WORKDIR,
        DF_USER,
        DF_EXPOSE,
        DF_VOLUME,
        DF_CMD,
        DF_ENTRYPOINT,
        DF_HEALTHCHECK,
        DF_SHELL,
        DF_STOPSIGNAL,
        DF_ONBUILD,
        DF_MAINTAINER,
};

struct df_heredoc {
        char *name;    /* the delimiter word */
        char *content; /* lines up to the delimiter, each ending in \n */
        bool expand;   /* unquoted delimiter: variables in the content are expanded */
        bool chomp;    /* <<-: leading tabs were removed */
};

struct df_instruction {
        enum df_kind kind;
        unsigned line; /* where the instruction starts */
        char *text;    /* the instruction as written, continuations joined (for history and cache) */
        struct stack_kvlist flags; /* --name=value options in order; a bare --name has value NULL */
        bool exec_form;            /* the arguments were a JSON array */
        char **argv;               /* exec form: the array's strings */
        char *rest;                /* shell form: the text after the flags, unprocessed */
        struct df_heredoc *heredocs;
        size_t n_heredocs;
        struct df_instruction *trigger; /* ONBUILD: the instruction it stores */
};

struct df_stage {
        char *name;     /* `AS name`, lower case; NULL when unnamed */
        char *base;     /* the FROM image as written (variables not yet substituted) */
        char *platform; /* --platform as written, or NULL */
        unsigned line;
        struct df_instruction *instructions; /* after the FROM */
        size_t n_instructions;
};

struct dockerfile {
        char *filename;                   /* for messages */
        char escape;                      /* '\\' or '`' */
        struct df_instruction *meta_args; /* ARGs before the first FROM */
        size_t n_meta_args;
        struct df_stage *stages;
        size_t n_stages;
};

int dockerfile_parse(const char *text, const char *filename, struct dockerfile **ret,
                     struct stack_error *err);
void dockerfile_free(struct dockerfile *df);
const char *df_kind_name(enum df_kind k);
/* The index of the stage named (or numbered) name; -1 when there is none. */
int dockerfile_find_stage(const struct dockerfile *df, const char *name);

static inline void dockerfile_freep(struct dockerfile **df)
{
        if (*df)
                dockerfile_free(*df);
}
#define _cleanup_dockerfile_ __attribute__((cleanup(dockerfile_freep)))

/* Word processing, as BuildKit's shell lexer: quotes removed, escapes applied, $v, ${v}, ${v:-w}, ${v-w},
 * ${v:+w}, ${v+w}, ${v:?msg}, ${v?msg} substituted from env ("KEY" -> value; a NULL value is unset).
 * Nothing inside single quotes is substituted. df_words splits on unquoted blanks; df_word keeps them. */
int df_words(const char *s, char escape, const struct stack_kvlist *env, char ***ret,
             struct stack_error *err);
int df_word(const char *s, char escape, const struct stack_kvlist *env, char **ret, struct stack_error *err);
/* The names of the variables s refers to (for the cache key: which build args an instruction uses). */
char **df_referenced_vars(const char *s, char escape);
/* ENV, LABEL and ARG arguments as key/value pairs: "k=v k2="a b"" or the old "k v w" form (ENV, LABEL);
 * ARG "name" alone has value NULL. Substitutes from env except for ARG defaults' own names. */
int df_key_values(const struct df_instruction *in, char escape, const struct stack_kvlist *env,
                  struct stack_kvlist *ret, struct stack_error *err);
