# sockettool -- build, run, test, benchmark, install.
#   make run            build and run the main job: sockettool serve app (127.0.0.1:65432)
#   make test           build and run every test (both reactor backends)
#   make test-workers   the server and interop suites again with every serve multi/app on 2 loops
#   make bench          throughput and latency figures, with ratios to ../shared/bench when present
#   make soak           serve app under mixed hostile load for 30 min (SOAK_SECONDS), fds and RSS: flat or grew
#   make install        binary, man page, completions, systemd units under PREFIX (default /usr/local)
#   make release        one self-contained binary (Swift runtime linked statically)

PREFIX ?= /usr/local
SWIFT ?= swift
RUN_ARGS ?= serve app
BIN_DIR := .build/release
# docs/service.md: the units are written for /usr/local; install rewrites ExecStart= for PREFIX.
UNITS := sockettool-app.socket sockettool-app.service sockettool@.service
UNIT_DIR := $(PREFIX)/lib/systemd/system
RELEASE_FLAGS := -c release -Xswiftc -enforce-exclusivity=unchecked

FUZZ_SECONDS ?= 600
FUZZER := .build-fuzz/release/FrameFuzzer

.PHONY: all build run test test-epoll test-workers bench soak install uninstall release man completions fuzz fuzz-build fuzz-ci sanitize sanitize-address sanitize-thread format lint clean

all: build

build:
	$(SWIFT) build $(RELEASE_FLAGS) --product sockettool

run: build
	$(BIN_DIR)/sockettool $(RUN_ARGS)

# The CLI tests drive the debug binary, so build it before testing. Each pass names its backend, which the
# servers it starts inherit; BackendTests checks they run it. run-suite.sh repeats what failed at the end.
test:
	$(SWIFT) build
	SOCKETTOOL_BACKEND=poll Tests/run-suite.sh $(SWIFT) test
	$(MAKE) test-epoll

# The whole suite again with epoll as the default backend.
test-epoll:
	SOCKETTOOL_BACKEND=epoll Tests/run-suite.sh $(SWIFT) test --skip-build

# The server and interop suites with --workers 2 (issue 15), both backends: every `serve multi` and `serve app`
# a test starts runs two loops (Tests/sockettoolTests/Support/TestWorkers.swift). Filtered, so it is not the
# whole suite a third time.
WORKERS_SUITES := \.(ServeMultiTests|ServeAppTests|ServerSignalTests|ShutdownTests|SocketActivationTests|ServiceNotifyTests|Resilience[A-Za-z]*Tests|HostileInputTests|InteropTests|UnixInteropTests|WorkersTests|BackendTests)/
test-workers:
	SOCKETTOOL_TEST_WORKERS=2 SOCKETTOOL_BACKEND=poll Tests/run-suite.sh $(SWIFT) test --filter '$(WORKERS_SUITES)'
	SOCKETTOOL_TEST_WORKERS=2 SOCKETTOOL_BACKEND=epoll Tests/run-suite.sh $(SWIFT) test --skip-build --filter '$(WORKERS_SUITES)'

# The shipped binary (static, stripped): start-up figures are those of what users run.
bench: release
	Tests/Bench/bench.sh $(BIN_DIR)/sockettool

# Not part of bench (30 minutes): Tests/Bench/soak.sh samples descriptors and RSS every 10 s under mixed
# load and says whether they stayed flat. SOAK_SECONDS=300 make soak for a shorter run.
SOAK_SECONDS ?= 1800
soak: release
	SOAK_SECONDS=$(SOAK_SECONDS) Tests/Bench/soak.sh $(BIN_DIR)/sockettool

# One self-contained binary: the Swift runtime linked in, debug info stripped.
release:
	$(SWIFT) build $(RELEASE_FLAGS) --static-swift-stdlib --product sockettool
	strip $(BIN_DIR)/sockettool
	@ls -l $(BIN_DIR)/sockettool | awk '{ printf "release binary: %s (%.1f MiB)\n", $$NF, $$5 / 1048576 }'

# The man page and the completion scripts come from the command definitions, written by the binary itself
# (--generate-manual, --generate-completion-script): ManualPage.swift and CompletionScript.swift say why
# not argument-parser's generate-manual plugin and plain scripts.
define write-man
	mkdir -p .build/man
	$(BIN_DIR)/sockettool --generate-manual > .build/man/sockettool.1
endef

define write-completions
	mkdir -p .build/completions
	$(BIN_DIR)/sockettool --generate-completion-script bash > .build/completions/sockettool.bash
	$(BIN_DIR)/sockettool --generate-completion-script zsh > .build/completions/_sockettool
	$(BIN_DIR)/sockettool --generate-completion-script fish > .build/completions/sockettool.fish
endef

man: build
	$(write-man)

completions: build
	$(write-completions)

# From the static release binary (`build` would relink it without the Swift runtime inside).
install: release
	$(write-man)
	$(write-completions)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BIN_DIR)/sockettool $(DESTDIR)$(PREFIX)/bin/sockettool
	install -m 644 .build/man/sockettool.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockettool.1
	install -m 644 .build/completions/sockettool.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockettool
	install -m 644 .build/completions/_sockettool $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockettool
	install -m 644 .build/completions/sockettool.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockettool.fish
	install -d $(DESTDIR)$(UNIT_DIR)
	for unit in $(UNITS); do \
		sed 's|/usr/local/bin/sockettool|$(PREFIX)/bin/sockettool|' docs/systemd/$$unit > $(DESTDIR)$(UNIT_DIR)/$$unit && \
		chmod 644 $(DESTDIR)$(UNIT_DIR)/$$unit || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockettool $(DESTDIR)$(PREFIX)/share/man/man1/sockettool.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockettool \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockettool \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockettool.fish \
		$(addprefix $(DESTDIR)$(UNIT_DIR)/,$(UNITS))

# libFuzzer on the decoder, header validator, JSON parser, serve app's answers and trace's decoders (Tests/Fuzz).
# Crashes land in .build-fuzz/crash-*; copy each, without its first (mode) byte, into Tests/Fuzz/corpus so
# `make test` keeps checking it. FUZZ_FLAGS adds libFuzzer flags (-runs=N).
fuzz-build:
	SOCKETTOOL_FUZZ=1 $(SWIFT) build --product FrameFuzzer --sanitize=fuzzer -c release --scratch-path .build-fuzz

# The target's first byte picks the decoder (Tests/Fuzz/FrameFuzzer): each seed goes in behind every mode byte.
FUZZ_MODES := 11
fuzz: fuzz-build
	mkdir -p .build-fuzz/corpus .build-fuzz/seeds
	for file in Tests/Fuzz/corpus/*; do \
		for mode in $$(seq 0 $$(($(FUZZ_MODES) - 1))); do \
			{ printf "\\$$(printf %o $$mode)"; cat "$$file"; } > .build-fuzz/seeds/$$mode-$$(basename "$$file"); \
		done; \
	done
	SWIFT_BACKTRACE=enable=no $(FUZZER) .build-fuzz/corpus .build-fuzz/seeds -max_len=4096 \
		-max_total_time=$(FUZZ_SECONDS) -artifact_prefix=.build-fuzz/ -print_final_stats=1 $(FUZZ_FLAGS)

# CI: the committed corpus as a regression run, then a short bounded fuzzing run.
fuzz-ci: fuzz-build
	$(MAKE) fuzz FUZZ_SECONDS=0 FUZZ_FLAGS=-runs=0
	$(MAKE) fuzz FUZZ_SECONDS=60

# The test suite under AddressSanitizer (XCTest's own allocations are not ours: no leak check) and
# ThreadSanitizer (the load generators' worker threads and atomics).
# SOCKETTOOL_SANITIZER tells the tests that a child's RSS is the sanitizer's, not ours.
sanitize: sanitize-address sanitize-thread

sanitize-address:
	$(SWIFT) build --sanitize=address --scratch-path .build-asan
	SOCKETTOOL_SANITIZER=address ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan

sanitize-thread:
	$(SWIFT) build --sanitize=thread --scratch-path .build-tsan
	SOCKETTOOL_SANITIZER=thread $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

format:
	$(SWIFT) format -i -r Package.swift Sources Tests

# swift format, then the import rules (only System/ touches Glibc; no Foundation in the shipped targets).
lint:
	$(SWIFT) format lint --strict -r Package.swift Sources Tests
	Tests/lint-imports.sh

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
