# sockettool -- build, run, test, benchmark, install.
#   make run            build and run the main job: sockettool serve app (127.0.0.1:65432)
#   make test           build and run every test (both reactor backends)
#   make bench          throughput and latency figures, with ratios to ../shared/bench when present
#   make install        binary, man page, completions under PREFIX (default /usr/local)
#   make release        one self-contained binary (Swift runtime linked statically)

PREFIX ?= /usr/local
SWIFT ?= swift
RUN_ARGS ?= serve app
BIN_DIR := .build/release
RELEASE_FLAGS := -c release -Xswiftc -enforce-exclusivity=unchecked

.PHONY: all build run test test-epoll bench install uninstall release man completions fuzz fuzz-regression sanitize format lint clean

all: build

build:
	$(SWIFT) build $(RELEASE_FLAGS)

run: build
	$(BIN_DIR)/sockettool $(RUN_ARGS)

# The CLI tests drive the debug binary, so build it before testing.
test:
	$(SWIFT) build
	$(SWIFT) test
	$(MAKE) test-epoll

# The reactor and every server and client test again on the epoll backend.
test-epoll:
	SOCKETTOOL_BACKEND=epoll $(SWIFT) test --skip-build --filter 'Reactor|Server|Client|Interop|Hostile|Shutdown|Limits|Flood'

bench: build
	Tests/Bench/bench.sh $(BIN_DIR)/sockettool

release:
	$(SWIFT) build $(RELEASE_FLAGS) --static-swift-stdlib
	@ls -l $(BIN_DIR)/sockettool | awk '{ printf "release binary: %s (%.1f MiB)\n", $$NF, $$5 / 1048576 }'

man: build
	mkdir -p .build/man
	$(BIN_DIR)/sockettool --experimental-dump-help > /dev/null
	$(SWIFT) package --allow-writing-to-directory .build/man plugin generate-manual --output-directory .build/man sockettool

completions: build
	mkdir -p .build/completions
	$(BIN_DIR)/sockettool --generate-completion-script bash > .build/completions/sockettool.bash
	$(BIN_DIR)/sockettool --generate-completion-script zsh > .build/completions/_sockettool
	$(BIN_DIR)/sockettool --generate-completion-script fish > .build/completions/sockettool.fish

install: release man completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BIN_DIR)/sockettool $(DESTDIR)$(PREFIX)/bin/sockettool
	install -m 644 .build/man/sockettool.1 $(DESTDIR)$(PREFIX)/share/man/man1/sockettool.1
	install -m 644 .build/completions/sockettool.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockettool
	install -m 644 .build/completions/_sockettool $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockettool
	install -m 644 .build/completions/sockettool.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockettool.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockettool $(DESTDIR)$(PREFIX)/share/man/man1/sockettool.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/sockettool \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_sockettool \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/sockettool.fish

format:
	$(SWIFT) format -i -r Package.swift Sources Tests

lint:
	$(SWIFT) format lint --strict -r Package.swift Sources Tests

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
