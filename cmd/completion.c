/* `stack completion bash|zsh|fish`: a completion script for the shell, written from the command table and
 * the commands' --help texts (helpdoc.h). It completes commands, global and per-command options,
 * subcommands (image, network, systemd) and, where a command takes SERVICE arguments, the service names
 * that `stack config --services` prints for the compose file the command line names. */
#include <stdio.h>
#include <string.h>

#include "cmd/helpdoc.h"
#include "core/base/cleanup.h"
#include "core/base/util.h"

/* Global options that choose the compose file and so the services: passed on to `config --services`. */
static const char *const file_options[] = {
    "-f", "--file", "-p", "--project-name", "--project-directory", "--env-file", "--profile"};

struct comp_cmd {
        const struct cmd *cmd; /* NULL: stack's own options and commands */
        struct help_doc doc;
        char **opts, **arg_opts, **subs;
        bool services;
};

struct comp {
        struct comp_cmd global;
        struct comp_cmd *cmds;
        size_t n_cmds;
};

static int comp_cmd_load(struct cmd_global *g, const struct cmd *c, struct comp_cmd *ret)
{
        _cleanup_free_ char *text = NULL;
        int r = helpdoc_capture(g, c, &text);
        if (r < 0)
                return r;
        *ret = (struct comp_cmd){.cmd = c};
        helpdoc_parse(text, &ret->doc);
        ret->opts = helpdoc_options(&ret->doc, false);
        ret->arg_opts = helpdoc_options(&ret->doc, true);
        ret->subs = helpdoc_subcommands(&ret->doc);
        ret->services = c && helpdoc_takes_services(&ret->doc);
        return 0;
}

static void comp_cmd_done(struct comp_cmd *c)
{
        helpdoc_done(&c->doc);
        strv_free(c->opts);
        strv_free(c->arg_opts);
        strv_free(c->subs);
}

static void comp_done(struct comp *c)
{
        comp_cmd_done(&c->global);
        for (size_t i = 0; i < c->n_cmds; i++)
                comp_cmd_done(&c->cmds[i]);
        free(c->cmds);
}

static int comp_load(struct cmd_global *g, struct comp *ret)
{
        *ret = (struct comp){0};
        int r = comp_cmd_load(g, NULL, &ret->global);
        if (r < 0)
                return r;
        size_t n;
        const struct cmd *t = cmd_table(&n);
        ret->cmds = xcalloc(n, sizeof(*ret->cmds));
        for (size_t i = 0; i < n; i++) {
                if (t[i].hidden)
                        continue;
                r = comp_cmd_load(g, &t[i], &ret->cmds[ret->n_cmds]);
                if (r < 0)
                        return r;
                ret->n_cmds++;
        }
        return 0;
}

static void words(FILE *f, char *const *l)
{
        STRV_FOREACH (w, l)
                fprintf(f, "%s%s", w == l ? "" : " ", *w);
}

static void command_names(FILE *f, const struct comp *c)
{
        for (size_t i = 0; i < c->n_cmds; i++)
                fprintf(f, "%s%s", i ? " " : "", c->cmds[i].cmd->name);
}

static void file_option_words(FILE *f, const char *sep)
{
        for (size_t i = 0; i < ELEMENTSOF(file_options); i++)
                fprintf(f, "%s%s", i ? sep : "", file_options[i]);
}

/* ---- bash ---- */

/* One branch of the scripts' `case $cmd`: the command's options, those taking a value, its subcommands and
 * whether it takes services. Lists are "..." in bash and (...) in zsh, as are the case labels. */
static void print_case(FILE *f, const struct comp_cmd *c, bool zsh)
{
        const char *open = zsh ? "(" : "\"", *close = zsh ? ")" : "\"";
        fprintf(f, "        %s%s)\n                opts=%s", zsh ? "(" : "", c->cmd->name, open);
        words(f, c->opts);
        fprintf(f, "%s\n                argopts=%s", close, open);
        words(f, c->arg_opts);
        fprintf(f, "%s\n                subs=%s", close, open);
        words(f, c->subs);
        fprintf(f, "%s\n                svc=%s\n                ;;\n", close, c->services ? "1" : "");
}

static void print_bash(FILE *f, const struct comp *c)
{
        fputs("# bash completion for stack, written by `stack completion bash`.\n"
              "_stack_services() {\n"
              "        local args=() i\n"
              "        for ((i = 1; i < $1; i++)); do\n"
              "                case \"${COMP_WORDS[i]}\" in\n                ",
              f);
        file_option_words(f, " | ");
        fputs(")\n"
              "                        args+=(\"${COMP_WORDS[i]}\" \"${COMP_WORDS[i + 1]}\")\n"
              "                        ((i++))\n"
              "                        ;;\n"
              "                esac\n"
              "        done\n"
              "        \"${COMP_WORDS[0]}\" \"${args[@]}\" config --services 2>/dev/null\n"
              "}\n\n"
              "_stack() {\n"
              "        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
              "        local cmd= cmdi=0 i w opts argopts subs svc\n"
              "        local gargs=\" ",
              f);
        words(f, c->global.arg_opts);
        fputs(" \"\n"
              "        for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "                w=${COMP_WORDS[i]}\n"
              "                if [[ $gargs == *\" $w \"* ]]; then\n"
              "                        ((i++))\n"
              "                elif [[ $w != -* ]]; then\n"
              "                        cmd=$w\n"
              "                        cmdi=$i\n"
              "                        break\n"
              "                fi\n"
              "        done\n"
              "        case $cmd in\n"
              "        \"\")\n"
              "                opts=\"",
              f);
        words(f, c->global.opts);
        fputs("\"\n                argopts=$gargs\n                subs=\"", f);
        command_names(f, c);
        fputs("\"\n                ;;\n", f);
        for (size_t i = 0; i < c->n_cmds; i++)
                print_case(f, &c->cmds[i], false);
        fputs("        *)\n"
              "                return\n"
              "                ;;\n"
              "        esac\n"
              "        if [[ \" $argopts \" == *\" $prev \"* ]]; then\n"
              "                mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
              "        elif [[ $cur == -* ]]; then\n"
              "                mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
              "        elif [[ -n $subs ]] && ((cmdi == 0 || COMP_CWORD == cmdi + 1)); then\n"
              "                mapfile -t COMPREPLY < <(compgen -W \"$subs\" -- \"$cur\")\n"
              "        elif [[ -n $svc ]]; then\n"
              "                mapfile -t COMPREPLY < <(compgen -W \"$(_stack_services \"$cmdi\")\" -- "
              "\"$cur\")\n"
              "        else\n"
              "                mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
              "        fi\n"
              "}\n"
              "complete -F _stack stack\n",
              f);
}

/* ---- zsh ---- */

static void print_zsh(FILE *f, const struct comp *c)
{
        fputs("#compdef stack\n"
              "# zsh completion for stack, written by `stack completion zsh`.\n"
              "_stack() {\n"
              "        local cmd= cmdi=0 i w svc\n"
              "        local -a gargs opts argopts subs args\n"
              "        gargs=(",
              f);
        words(f, c->global.arg_opts);
        fputs(")\n"
              "        for ((i = 2; i < CURRENT; i++)); do\n"
              "                w=$words[i]\n"
              "                if ((${gargs[(Ie)$w]})); then\n"
              "                        ((i++))\n"
              "                elif [[ $w != -* ]]; then\n"
              "                        cmd=$w\n"
              "                        cmdi=$i\n"
              "                        break\n"
              "                fi\n"
              "        done\n"
              "        case $cmd in\n"
              "        ('')\n"
              "                opts=(",
              f);
        words(f, c->global.opts);
        fputs(")\n                argopts=($gargs)\n                subs=(", f);
        command_names(f, c);
        fputs(")\n                ;;\n", f);
        for (size_t i = 0; i < c->n_cmds; i++)
                print_case(f, &c->cmds[i], true);
        fputs("        (*)\n"
              "                return 1\n"
              "                ;;\n"
              "        esac\n"
              "        if ((${argopts[(Ie)$words[CURRENT - 1]]})); then\n"
              "                _files\n"
              "        elif [[ $PREFIX == -* ]]; then\n"
              "                compadd -- $opts\n"
              "        elif (($#subs)) && ((cmdi == 0 || CURRENT == cmdi + 1)); then\n"
              "                compadd -- $subs\n"
              "        elif [[ -n $svc ]]; then\n"
              "                for ((i = 2; i < cmdi; i++)); do\n"
              "                        case $words[i] in\n"
              "                        (",
              f);
        file_option_words(f, " | ");
        fputs(")\n"
              "                                args+=($words[i] $words[i + 1])\n"
              "                                ((i++))\n"
              "                                ;;\n"
              "                        esac\n"
              "                done\n"
              "                compadd -- ${(f)\"$($words[1] $args config --services 2>/dev/null)\"}\n"
              "        else\n"
              "                _files\n"
              "        fi\n"
              "}\n"
              "_stack \"$@\"\n",
              f);
}

/* ---- fish ---- */

/* A fish single-quoted string. */
static void fish_quoted(FILE *f, const char *s)
{
        fputc('\'', f);
        for (; s && *s; s++) {
                if (*s == '\'' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('\'', f);
}

static void fish_entry(FILE *f, const char *cond, const struct help_entry *e)
{
        _cleanup_strv_free_ char **words_ = helpdoc_term_words(e->term);
        bool arg = false;
        STRV_FOREACH (w, words_)
                if (**w && **w != '-')
                        arg = true;
        fprintf(f, "complete -c stack -n %s", cond);
        STRV_FOREACH (w, words_) {
                size_t n = strcspn(*w, "=[");
                if (startswith(*w, "--") && n > 2)
                        fprintf(f, " -l %.*s", (int) (n - 2), *w + 2);
                else if ((*w)[0] == '-' && n == 2)
                        fprintf(f, " -s %c", (*w)[1]);
        }
        fputs(arg ? " -r" : "", f);
        if (e->text) {
                fputs(" -d ", f);
                fish_quoted(f, e->text);
        }
        fputc('\n', f);
}

static void fish_options(FILE *f, const char *cond, const struct help_doc *d)
{
        for (size_t i = 0; i < d->n_sections; i++) {
                const struct help_section *s = &d->sections[i];
                for (size_t j = 0; j < s->n_entries; j++) {
                        bool sub = s->title && streq(s->title, "Commands");
                        if (!sub && s->entries[j].term[0] == '-')
                                fish_entry(f, cond, &s->entries[j]);
                }
        }
}

static void print_fish(FILE *f, const struct comp *c)
{
        fputs("# fish completion for stack, written by `stack completion fish`.\n"
              "function __stack_cmd\n"
              "    set -l toks (commandline -opc)\n"
              "    set -l skip 0\n"
              "    for t in $toks[2..-1]\n"
              "        if test $skip = 1\n"
              "            set skip 0\n"
              "        else if contains -- $t ",
              f);
        words(f, c->global.arg_opts);
        fputs("\n"
              "            set skip 1\n"
              "        else if not string match -q -- '-*' $t\n"
              "            echo $t\n"
              "            return\n"
              "        end\n"
              "    end\n"
              "end\n"
              "function __stack_services\n"
              "    set -l toks (commandline -opc)\n"
              "    set -l args\n"
              "    set -l i 2\n"
              "    while test $i -lt (count $toks)\n"
              "        if contains -- $toks[$i] ",
              f);
        file_option_words(f, " ");
        fputs("\n"
              "            set args $args $toks[$i] $toks[(math $i + 1)]\n"
              "        end\n"
              "        set i (math $i + 1)\n"
              "    end\n"
              "    $toks[1] $args config --services 2>/dev/null\n"
              "end\n"
              "complete -c stack -f\n",
              f);
        const char *top = "'test -z \"$(__stack_cmd)\"'";
        fish_options(f, top, &c->global.doc);
        for (size_t i = 0; i < c->n_cmds; i++) {
                const struct comp_cmd *k = &c->cmds[i];
                fprintf(f, "complete -c stack -n %s -a %s -d ", top, k->cmd->name);
                fish_quoted(f, k->cmd->summary);
                fputc('\n', f);
                _cleanup_free_ char *cond = xasprintf("'test \"$(__stack_cmd)\" = %s'", k->cmd->name);
                fish_options(f, cond, &k->doc);
                if (k->subs[0]) {
                        fprintf(f, "complete -c stack -n %s -a ", cond);
                        _cleanup_free_ char *l = strv_join(k->subs, " ");
                        fish_quoted(f, l);
                        fputc('\n', f);
                }
                if (k->services)
                        fprintf(f, "complete -c stack -n %s -a '(__stack_services)'\n", cond);
        }
}

int cmd_completion(struct cmd_global *g, int argc, char **argv)
{
        static const char usage[] =
            "Usage: stack completion bash|zsh|fish\n"
            "\n"
            "Print a completion script for the shell: commands, options, subcommands\n"
            "and the compose file's service names.\n"
            "\n"
            "Commands:\n"
            "  bash   source it, or install it as bash-completion/completions/stack\n"
            "  zsh    install it as _stack in a directory of $fpath\n"
            "  fish   install it as fish/vendor_completions.d/stack.fish\n";
        if (argc == 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                fputs(usage, stdout);
                return EXIT_OK;
        }
        if (argc != 2)
                return cmd_usage_error("completion", "expected one shell: bash, zsh or fish");
        void (*print)(FILE *, const struct comp *) = streq(argv[1], "bash")   ? print_bash
                                                     : streq(argv[1], "zsh")  ? print_zsh
                                                     : streq(argv[1], "fish") ? print_fish
                                                                              : NULL;
        if (!print)
                return cmd_usage_error("completion", "unknown shell \"%s\" (bash, zsh or fish)", argv[1]);
        struct comp c;
        int r = comp_load(g, &c);
        if (r >= 0)
                print(stdout, &c);
        comp_done(&c);
        return r < 0 ? EXIT_ERROR : EXIT_OK;
}
