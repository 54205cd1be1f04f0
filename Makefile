# Makefile: builds oisp-sensor (BPF objects + skeletons, then the user-space binary),
# the unit tests (`make check`), and the benchmarks (`make bench`).
# Layout follows the data flow: bpf/ -> src/capture -> src/stream -> src/decode
# -> src/events -> src/sinks, with src/cli on top and src/util underneath.

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
BUILD    ?= build
ARCH     := x86

PKGS     := libbpf jansson zlib libzstd libbrotlidec libcrypto capstone libwebsockets rdkafka libcurl libmicrohttpd
CFLAGS   ?= -O2 -g
# Project flags live in OISP_CFLAGS so that `make CFLAGS=...` (sanitizers)
# adds to them instead of replacing them.
OISP_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
            -Isrc -Ibpf -I$(BUILD) $(shell pkg-config --cflags $(PKGS))
# capstone is dlopen()ed by src/capture/probe_plan.c (only while planning probes)
LINK_PKGS := $(filter-out capstone,$(PKGS))
CAPSTONE_SONAME := $(shell objdump -p $$(pkg-config --variable=libdir capstone 2>/dev/null)/libcapstone.so 2>/dev/null | awk '/SONAME/{print $$2}')
OISP_CFLAGS += $(if $(CAPSTONE_SONAME),-DCAPSTONE_SONAME='"$(CAPSTONE_SONAME)"')
LDLIBS   += $(shell pkg-config --libs $(LINK_PKGS)) -lelf -ldl -lpthread -lm
# The event path allocates and frees many small JSON nodes per event, and
# glibc's malloc spends a third of the sensor's CPU on them; mimalloc
# (Debian's libmimalloc) replaces malloc for the whole process when it is
# a direct dependency of the executable.  Only the sensor and its decode
# benchmark use it: the sanitizer and fuzz builds keep their own allocator.
MALLOC_LIBS := -Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

all: $(BUILD)/oisp-sensor

$(BUILD)/vmlinux.h:
	@mkdir -p $(BUILD)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/*.h $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: src/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(OISP_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liboisp.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/oisp-sensor: $(BUILD)/obj/cli/main.o $(BUILD)/liboisp.a
	$(CC) $(OISP_CFLAGS) $(CFLAGS) -o $@ $^ $(MALLOC_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liboisp.a
	@mkdir -p $(dir $@)
	$(CC) $(OISP_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/liboisp.a $(LDLIBS) -lcmocka

# The README's two commands: both install missing packages first, then
# re-enter make so that pkg-config sees them.
run:
	scripts/deps.sh build
	$(MAKE) all
	./$(BUILD)/oisp-sensor record -o events.jsonl

test:
	scripts/deps.sh test
	$(MAKE) all unit-build
	$(MAKE) check

# A fake TLS library with CET-style prologues, for test_probe_plan.
$(BUILD)/tests/probe_sites.so: tests/data/elf/probe_sites.S
	@mkdir -p $(dir $@)
	$(CC) -shared -nostdlib -o $@ $<
$(BUILD)/tests/test_probe_plan: $(BUILD)/tests/probe_sites.so

unit-build: $(TESTS)

unit: $(TESTS)
	@fail=0; for t in $(TESTS); do (cd tests/unit && ../../$$t) || fail=1; done; exit $$fail

e2e: all
	bash tests/e2e/run.sh

# Everything: unit tests (plain and sanitized), every end-to-end suite and
# short fuzz runs; one summary line at the end (tests/run_all.sh).
check: all unit-build
	bash tests/run_all.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
# Quality targets (sanitizers, fuzzing, load, soak, benchmarks) live in mk/.
-include mk/*.mk
.PHONY: all run test unit unit-build e2e check clean
.SECONDARY:

# ---------------------------------------------------------------------------
# Installation and packages (packaging/, man/, completions/).
# `make install` puts the sensor in FHS paths below $(DESTDIR); an existing
# $(SYSCONFDIR)/oisp/config.toml is never overwritten.  Run as root with no
# DESTDIR it also creates the `oisp` system user and gives it the state and
# log directories.  `make deb` / `make rpm` build build/*.deb and build/*.rpm
# from the built binary (packaging/build-deb.sh, packaging/build-rpm.sh).
PREFIX        ?= /usr
SYSCONFDIR    ?= /etc
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions

install: $(BUILD)/oisp-sensor
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)/oisp
	install -m 0755 $(BUILD)/oisp-sensor $(DESTDIR)$(BINDIR)/oisp-sensor
	sed -e 's|/usr/bin/oisp-sensor|$(BINDIR)/oisp-sensor|g' -e 's|/etc/oisp/|$(SYSCONFDIR)/oisp/|g' \
		packaging/oisp-sensor.service > $(DESTDIR)$(UNITDIR)/oisp-sensor.service.tmp
	chmod 0644 $(DESTDIR)$(UNITDIR)/oisp-sensor.service.tmp
	mv $(DESTDIR)$(UNITDIR)/oisp-sensor.service.tmp $(DESTDIR)$(UNITDIR)/oisp-sensor.service
	install -m 0644 packaging/oisp-sensor.sysusers $(DESTDIR)$(SYSUSERSDIR)/oisp-sensor.conf
	gzip -9n -c man/oisp-sensor.1 > $(DESTDIR)$(MANDIR)/man1/oisp-sensor.1.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/oisp-sensor.1.gz
	install -m 0644 completions/oisp-sensor.bash $(DESTDIR)$(BASHCOMPDIR)/oisp-sensor
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml ]; then \
		echo "keeping the existing $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml (the new default is $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml.default)"; \
		install -m 0640 packaging/config.toml $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml.default; \
	else \
		install -m 0640 packaging/config.toml $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml; \
	fi
	install -d -m 0750 $(DESTDIR)/var/lib/oisp $(DESTDIR)/var/log/oisp
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		sh packaging/oisp-user.sh $(SYSCONFDIR); \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/oisp-sensor $(DESTDIR)$(UNITDIR)/oisp-sensor.service \
		$(DESTDIR)$(SYSUSERSDIR)/oisp-sensor.conf $(DESTDIR)$(MANDIR)/man1/oisp-sensor.1.gz \
		$(DESTDIR)$(BASHCOMPDIR)/oisp-sensor $(DESTDIR)$(SYSCONFDIR)/oisp/config.toml.default
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/oisp, $(DESTDIR)/var/lib/oisp, $(DESTDIR)/var/log/oisp and the oisp user; remove them by hand if they are no longer wanted"

deb: $(BUILD)/oisp-sensor
	BUILD=$(BUILD) packaging/build-deb.sh

rpm: $(BUILD)/oisp-sensor
	BUILD=$(BUILD) packaging/build-rpm.sh

.PHONY: install uninstall deb rpm
