# Portico front door. `make run` and `make test` work on a fresh Debian 12
# machine: they install build dependencies, configure (if needed), build and
# then run the demo or the whole test suite.

ifneq ($(wildcard objs/config.mk),)
include objs/config.mk
endif

CORE_SRCS  := $(filter-out core/ptc_main.c,$(wildcard core/*.c))
# every .c of an enabled module's folder (the list of folders comes from ./configure)
MODULE_SRCS := $(foreach d,$(MODULE_DIRS),$(wildcard modules/$(d)/*.c))
LIB_SRCS   := $(CORE_SRCS) $(MODULE_SRCS) objs/ptc_modules.c
LIB_OBJS   := $(patsubst %.c,objs/%.o,$(filter-out objs/%,$(LIB_SRCS))) objs/ptc_modules.o
MAIN_OBJ   := objs/core/ptc_main.o
UNIT_SRCS  := $(shell find test/unit -name '*.c')
UNIT_OBJS  := $(patsubst %.c,objs/%.o,$(UNIT_SRCS))
PYTHON     ?= /usr/bin/python3
DESTDIR    ?=

.PHONY: all build deps configured run test unit integration bench install clean distclean \
        format format-check fuzz fuzz-smoke

all: build

build: configured
	@$(MAKE) --no-print-directory objs/portico

configured:
	@test -f objs/config.mk || ./configure

deps:
	@sh scripts/install-deps.sh

objs/portico: $(LIB_OBJS) $(MAIN_OBJ)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

objs/%.o: %.c objs/config.mk
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

objs/ptc_modules.o: objs/ptc_modules.c
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

objs/unit-tests: $(LIB_OBJS) $(UNIT_OBJS)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

run: deps configured
	@$(MAKE) --no-print-directory objs/portico
	@sh scripts/demo.sh

test: deps configured
	@$(MAKE) --no-print-directory objs/portico objs/unit-tests
	@sh scripts/run-tests.sh

unit: configured
	@$(MAKE) --no-print-directory objs/unit-tests
	./objs/unit-tests

integration: configured
	@$(MAKE) --no-print-directory objs/portico
	$(PYTHON) -m pytest -q test/integration

fuzz:
	@sh scripts/fuzz.sh

fuzz-smoke:
	@FUZZ_SECONDS=20 sh scripts/fuzz.sh

bench: deps configured
	@$(MAKE) --no-print-directory objs/portico
	@sh scripts/bench.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/conf $(DESTDIR)$(PREFIX)/logs \
	    $(DESTDIR)$(PREFIX)/html
	install -m 755 objs/portico $(DESTDIR)$(PREFIX)/sbin/portico
	install -m 644 conf/mime.types $(DESTDIR)$(PREFIX)/conf/mime.types
	test -f $(DESTDIR)$(PREFIX)/conf/portico.conf \
	    || install -m 644 conf/portico.conf $(DESTDIR)$(PREFIX)/conf/portico.conf
	install -m 644 conf/html/index.html $(DESTDIR)$(PREFIX)/html/index.html

format:
	clang-format -i $(wildcard core/*.[ch] modules/*/*.[ch] test/unit/*.[ch])

format-check:
	clang-format --dry-run -Werror $(wildcard core/*.[ch] modules/*/*.[ch] test/unit/*.[ch])

clean:
	rm -rf objs/core objs/modules objs/test objs/*.o objs/*.d objs/portico objs/unit-tests

distclean:
	rm -rf objs

-include $(shell find objs -name '*.d' 2>/dev/null)
