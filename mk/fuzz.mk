# libFuzzer targets (tests/fuzz/, issue #17): every library object built
# again with clang, coverage-instrumented, under ASan + UBSan, into
# build/fuzz/; one binary per target. Needs clang and libclang-rt-14-dev
# (scripts/deps.sh test).
#   make fuzz FUZZ_SECONDS=60   each target for FUZZ_SECONDS, one at a time
#   make fuzz-smoke             each target briefly on its corpus and every
#                               regression input (the test suite runs this)
#   make fuzz-build             only build build/fuzz/fuzz_<target>

FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# A YAML alias bomb within the 1,000,000-node budget costs ~0.4 s per input
# under ASan, and the fuzzer breeds them; the budget (and its refusal) is
# fuzzed at 20,000 nodes instead.
FUZZ_CFLAGS  := $(BASE) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -DBRONZE_YAML_MAX_NODES=20000u
FUZZ_TARGETS := config csv json jsonl infer pgcopy s3xml custom api
FUZZ_LIB     := $(LIB_SRCS:%.c=build/fuzz/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_SECONDS ?= 60

.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build: $(FUZZ_BINS)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build/fuzz/fuzz_jsonl: tests/fuzz/fuzz_json.c tests/fuzz/fuzz_util.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_JSONL -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: $(FUZZ_BINS)
	tests/fuzz/run.sh smoke 0 $(FUZZ_TARGETS)

# the suite's `make test` runs the smoke pass too (scripts/test.sh calls it itself)
test: fuzz-smoke

-include $(FUZZ_LIB:.o=.d)
