# Man pages and shell completions. One source: the command table in cmd/main.c and each command's --help
# text, which the stack just built turns into roff (`stack manpage`) and into completion scripts (`stack
# completion SHELL`), so a command added to the table has its page and completions with no more work.
# The systemd unit template is written at install time, with the configured bindir in its Exec lines.
bashcompletiondir = $(datadir)/bash-completion/completions
zshcompletiondir = $(datadir)/zsh/site-functions
fishcompletiondir = $(datadir)/fish/vendor_completions.d
systemdunitdir = $(prefix)/lib/systemd/system
stackman1dir = $(mandir)/man1

GENERATED_COMPLETIONS = completions/stack.bash completions/_stack completions/stack.fish

all-local: docs/man/.stamp $(GENERATED_COMPLETIONS)

# Every page the table asks for; a command whose --help fails or prints nothing stops the build.
docs/man/.stamp: stack$(EXEEXT)
	$(AM_V_GEN)rm -rf docs/man && $(MKDIR_P) docs/man && \
	pages=$$(./stack$(EXEEXT) manpage --list) && test -n "$$pages" || exit 1; \
	for page in $$pages; do \
		cmd=$${page#stack}; cmd=$${cmd#-}; \
		./stack$(EXEEXT) manpage $$cmd >docs/man/$$page.1.tmp || { \
			echo "error: no man page for '$$page': 'stack $$cmd --help' must print its usage" >&2; exit 1; }; \
		mv docs/man/$$page.1.tmp docs/man/$$page.1; \
	done; \
	touch $@

completions/stack.bash: stack$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) completions && ./stack$(EXEEXT) completion bash >$@.tmp && mv $@.tmp $@
completions/_stack: stack$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) completions && ./stack$(EXEEXT) completion zsh >$@.tmp && mv $@.tmp $@
completions/stack.fish: stack$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) completions && ./stack$(EXEEXT) completion fish >$@.tmp && mv $@.tmp $@

install-data-local: docs/man/.stamp $(GENERATED_COMPLETIONS)
	$(MKDIR_P) $(DESTDIR)$(stackman1dir) $(DESTDIR)$(bashcompletiondir) $(DESTDIR)$(zshcompletiondir) \
		$(DESTDIR)$(fishcompletiondir) $(DESTDIR)$(systemdunitdir)
	$(INSTALL_DATA) docs/man/*.1 $(DESTDIR)$(stackman1dir)/
	$(INSTALL_DATA) completions/stack.bash $(DESTDIR)$(bashcompletiondir)/stack
	$(INSTALL_DATA) completions/_stack $(DESTDIR)$(zshcompletiondir)/_stack
	$(INSTALL_DATA) completions/stack.fish $(DESTDIR)$(fishcompletiondir)/stack.fish
	./stack$(EXEEXT) systemd generate --template | \
		sed 's|$(abs_builddir)/stack$(EXEEXT)|$(bindir)/stack$(EXEEXT)|g' >stack@.service.tmp && \
		if grep -q '$(abs_builddir)' stack@.service.tmp; then \
			echo "error: stack@.service still names the build directory" >&2; exit 1; fi && \
		$(INSTALL_DATA) stack@.service.tmp $(DESTDIR)$(systemdunitdir)/stack@.service && \
		rm -f stack@.service.tmp

uninstall-local:
	rm -f $(DESTDIR)$(stackman1dir)/stack.1 $(DESTDIR)$(stackman1dir)/stack-*.1 \
		$(DESTDIR)$(bashcompletiondir)/stack $(DESTDIR)$(zshcompletiondir)/_stack \
		$(DESTDIR)$(fishcompletiondir)/stack.fish $(DESTDIR)$(systemdunitdir)/stack@.service

clean-local:
	rm -rf docs/man completions stack@.service.tmp

# The man pages and completions as a user gets them, checked against the built stack.
TESTS += tests/tools/manpages.test tests/tools/completion.test
