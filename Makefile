# bronze-foundry build. Two flavours of every object:
#   build/release/  -O2, the shipped binary (build/release/bronze-extract)
#   build/asan/     -O1 with AddressSanitizer + UBSan, used by every test
# Sources are picked up by wildcard: a new file in src/ needs no edit here.

PKGS    := yaml-0.1 sqlite3 jansson yajl libpq odbc snappy zlib libzstd liblz4 libbrotlienc libcrypto libcurl libxxhash

# Without the -dev libraries (or pkg-config itself), one message saying what
# to run instead of a page of pkg-config errors per flag (not for the goals
# that need no compiler).
ifneq ($(filter-out clean format format-check,$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell command -v pkg-config 2>/dev/null),)
$(error pkg-config is not installed: run `scripts/deps.sh build` (as root, on Debian 12) to install it and the libraries bronze-foundry builds against, then make again)
endif
MISSING_PKGS := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || printf '%s ' $$p; done)
ifneq ($(strip $(MISSING_PKGS)),)
$(error missing libraries (pkg-config finds no $(strip $(MISSING_PKGS))): run `scripts/deps.sh build` (as root, on Debian 12) to install them, then make again)
endif
endif
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GITREV  := $(shell git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral
BASE    := -std=c11 -D_GNU_SOURCE -Isrc -Iinclude $(WARN) \
           -DBRONZE_VERSION='"$(VERSION)"' -DBRONZE_BUILD='"$(GITREV)"' \
           $(shell pkg-config --cflags $(PKGS))
LIBS    := $(shell pkg-config --libs $(PKGS)) -lpthread -lm -ldl
REL_CFLAGS  := $(BASE) -O2 -g
ASAN_CFLAGS := $(BASE) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/cli/main.c,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

REL_OBJS  := $(SRCS:%.c=build/release/%.o)
ASAN_OBJS := $(SRCS:%.c=build/asan/%.o)
ASAN_LIB  := $(LIB_SRCS:%.c=build/asan/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)

.PHONY: all release asan unit test integration format format-check clean demo bench install
all: release

release: build/release/bronze-extract
asan: build/asan/bronze-extract

build/release/bronze-extract: $(REL_OBJS)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS)
build/asan/bronze-extract: $(ASAN_OBJS)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

build/release/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c -o $@ $<
build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -Itests/unit -o $@ $^ $(LIBS) $(shell pkg-config --libs cmocka)

# C unit tests (cmocka), each under ASan/UBSan.
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

# Integration tests drive the built binaries (node's test runner, DuckDB reader).
integration: release asan
	cd tests/integration && node --test --test-concurrency=2 *.test.mjs

test: format-check unit integration

FMT_DIRS  := $(wildcard src include tests/unit)
FMT_FILES  = $(shell find $(FMT_DIRS) -name '*.h' -o -name '*.c')

format:
	clang-format -i $(FMT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FMT_FILES) && echo "format: clean"

# bin/bronze-extract, the Python runner for 1.0 classes where the binary
# looks for it (<bindir>/../share/bronze-foundry/python; in the tree it finds
# build/release/../../python), and the plugin header.
PREFIX ?= /usr/local
install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/bronze
	install -m 755 build/release/bronze-extract $(DESTDIR)$(PREFIX)/bin/
	cd python && find . -name '*.py' -exec install -D -m 644 {} $(DESTDIR)$(PREFIX)/share/bronze-foundry/python/{} \;
	install -m 644 include/bronze/extractor.h $(DESTDIR)$(PREFIX)/include/bronze/

demo: release
	./scripts/demo.sh

clean:
	rm -rf build

-include $(REL_OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
include mk/fuzz.mk
