# mk/quality.mk: correctness and speed made visible (issue 7).  Included by
# the Makefile; every target here builds in its own tree so it never
# disturbs build/.
#
#   make asan-unit      unit tests built with clang ASan+UBSan (LeakSanitizer
#                       on) in build-asan/, all run; fails on any finding
#   make fuzz           libFuzzer targets (fuzz/fuzz_*.c) in build-fuzz/, seeded
#                       from tests/data by fuzz/seedgen.c, each run FUZZ_SECONDS
#                       (default 60; FUZZ_RUNS=N stops a target after N inputs);
#                       `make -j2 fuzz` runs two targets at a time
#   make fuzz-ci        replays tests/data/fuzz-regress/TARGET/* and runs each
#                       target FUZZ_CI_SECONDS (default 4) from its seeds only
#                       (a fresh corpus, so the time stays bounded): < 2 minutes
#   make fuzz-report    the table of the last runs (execs, coverage, crashes)
#   make load           tests/load/load.sh: 60 s of maximum mixed load through C,
#                       python and node clients; nothing lost, or every loss counted
#   make soak           tests/load/soak.sh: 10 min (SOAK_SECONDS) of moderate load;
#                       RSS slope, fd and connection growth
#   make bench          bench/perf_table.sh: every benchmark, written to
#                       docs/PERFORMANCE.md from one run
#
# Sanitizer builds pass their flags through CFLAGS, which the Makefile adds
# to the project's own OISP_CFLAGS (-Werror included).

ASAN_BUILD  := build-asan
SAN_FLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_CFLAGS := -O1 -g $(SAN_FLAGS)
ASAN_TESTS  := $(patsubst tests/unit/%.c,$(ASAN_BUILD)/tests/%,$(TEST_SRCS))
# Findings abort the test program; leaks are reported at its exit.
SAN_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 LSAN_OPTIONS=report_objects=1
ASAN_TEST_TIMEOUT ?= 900

asan-unit:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=clang CFLAGS='$(ASAN_CFLAGS)' $(ASAN_TESTS)
	@mkdir -p $(ASAN_BUILD)/logs; n=0; bad=0; \
	for t in $(ASAN_TESTS); do \
	    name=$${t##*/}; n=$$((n + 1)); log=$(ASAN_BUILD)/logs/$$name.log; \
	    if (cd tests/unit && env $(SAN_ENV) timeout $(ASAN_TEST_TIMEOUT) ../../$$t) >$$log 2>&1; then \
	        echo "asan-unit: ok   $$name"; \
	    else \
	        bad=$$((bad + 1)); echo "asan-unit: FAIL $$name (log: $$log)"; \
	        grep -m 8 -E 'ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY|\[  (FAILED|ERROR)  \]' $$log | sed 's/^/    /'; \
	    fi; \
	done; \
	echo "asan-unit: $$((n - bad))/$$n unit test programs pass under ASan+UBSan+LSan"; \
	echo "$$((n - bad)) passed, $$bad failed (programs, for tests/run_all.sh)"; \
	[ $$bad = 0 ]

# ---- fuzzing ---------------------------------------------------------------

FUZZ_BUILD   := build-fuzz
FUZZ_CFLAGS  := -O1 -g $(SAN_FLAGS) -fsanitize=fuzzer-no-link
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 4
FUZZ_RUNS    ?=
# The redaction engine joins as soon as its source exists.
FUZZ_TARGETS := http_request http_response http_chunked content sse conn \
                decode_openai decode_anthropic decode_gemini decode_ollama decode_bedrock \
                jsonfast secrets toml dns $(if $(wildcard src/events/redact.c),redact)
FUZZ_BINS    := $(patsubst %,$(FUZZ_BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_SEED_DEPS := $(shell find tests/data -type f 2>/dev/null) tests/toml_diff.py \
                  $(wildcard packaging/config.toml)

# Two sub-makes: the library first (its objects need the BPF skeletons of
# that tree), then the targets and corpora against it.
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS='$(FUZZ_CFLAGS)' $(FUZZ_BUILD)/liboisp.a
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS='$(FUZZ_CFLAGS)' fuzz-bins fuzz-corpus

fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(FUZZ_BUILD)/liboisp.a
	@mkdir -p $(dir $@)
	clang $(OISP_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(FUZZ_BUILD)/liboisp.a $(LDLIBS)

$(FUZZ_BUILD)/seedgen: fuzz/seedgen.c fuzz/fuzz.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ifuzz -o $@ $< \
	    $(shell pkg-config --cflags --libs libbrotlienc libzstd zlib jansson)

# Seeds (build-fuzz/seeds/TARGET) are generated from the fixtures on every
# change of them, never committed; the regression inputs join them.  What
# fuzzing finds goes to build-fuzz/corpus/TARGET, which grows run by run.
fuzz-corpus: $(FUZZ_BUILD)/seeds/.stamp

$(FUZZ_BUILD)/seeds/.stamp: $(FUZZ_BUILD)/seedgen $(FUZZ_SEED_DEPS)
	@rm -rf $(FUZZ_BUILD)/seeds && mkdir -p $(FUZZ_BUILD)/seeds
	@python3 tests/toml_diff.py $(FUZZ_BUILD)/toml-cases.jsonl --count 300 --seed 7 >/dev/null 2>&1 || \
	    : >$(FUZZ_BUILD)/toml-cases.jsonl
	$(FUZZ_BUILD)/seedgen tests/data $(FUZZ_BUILD)/seeds $(FUZZ_BUILD)/toml-cases.jsonl
	@for t in $(FUZZ_TARGETS); do mkdir -p $(FUZZ_BUILD)/seeds/$$t $(FUZZ_BUILD)/corpus/$$t; \
	    if [ -d tests/data/fuzz-regress/$$t ]; then cp -f tests/data/fuzz-regress/$$t/* $(FUZZ_BUILD)/seeds/$$t/ 2>/dev/null; fi; \
	done; true
	@touch $@

fuzz: fuzz-build
	@rm -f $(FUZZ_BUILD)/results/*.txt
	@$(MAKE) --no-print-directory $(addprefix fuzz-run-,$(FUZZ_TARGETS)) FUZZ_TIME=$(FUZZ_SECONDS)
	@bash fuzz/report.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-ci: fuzz-build
	@rm -f $(FUZZ_BUILD)/results/*.txt
	@FUZZ_FRESH=1 $(MAKE) --no-print-directory $(addprefix fuzz-run-,$(FUZZ_TARGETS)) FUZZ_TIME=$(FUZZ_CI_SECONDS) FUZZ_RUNS=
	@bash fuzz/report.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

fuzz-report:
	@bash fuzz/report.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

# One target: replay its regression inputs, then fuzz (fuzz/run.sh records
# the outcome in $(FUZZ_BUILD)/results/; fuzz/report.sh fails on a crash).
fuzz-run-%:
	@bash fuzz/run.sh $(FUZZ_BUILD) $* $(FUZZ_TIME) $(FUZZ_RUNS)

# ---- load, soak, benchmarks -----------------------------------------------

load: all
	bash tests/load/load.sh

soak: all
	bash tests/load/soak.sh

bench: all $(BUILD)/bench/decode_bench $(BUILD)/bench/probe_cost
	bash bench/perf_table.sh

$(BUILD)/bench/decode_bench: bench/decode_bench.c $(BUILD)/liboisp.a
	@mkdir -p $(dir $@)
	$(CC) $(OISP_CFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/liboisp.a $(MALLOC_LIBS) $(LDLIBS)

# No-op probes: what the traps cost without the sensor's work (bench/probe_cost.c).
$(BUILD)/bench/probe_cost.bpf.o: bench/probe_cost.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -c $< -o $@

$(BUILD)/bench/probe_cost: bench/probe_cost.c $(BUILD)/bench/probe_cost.bpf.o
	$(BPFTOOL) gen skeleton $(BUILD)/bench/probe_cost.bpf.o > $(BUILD)/bench/probe_cost.skel.h
	$(CC) $(OISP_CFLAGS) $(CFLAGS) -I$(BUILD)/bench -o $@ $< $(LDLIBS)

.PHONY: asan-unit fuzz-build fuzz-bins fuzz-corpus fuzz fuzz-ci fuzz-report load soak bench
