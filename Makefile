# Valkyria CI - plain Makefile. `make build` gives build/valk.
CC      ?= gcc
WARN    := -Wall -Wextra -Werror
CSTD    := -std=c11 -D_GNU_SOURCE
INC     := -Isrc/lang -Isrc/rt -Isrc/net -Isrc -Ibuild/gen -I/usr/share/include/llhttp
OPT     ?= -O2 -g
LIBS    := -lgc -ledit -luv -lpcre2-8 -lyaml -lcrypto -lcurl -lsqlite3 -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_VALK := $(sort $(wildcard lib/*.valk lib/ci/*.valk))
SRC      := $(sort $(wildcard src/*.c src/*/*.c))
LANG_SRC := $(filter-out src/main.c src/repl.c,$(SRC))
GEN      := build/gen/lib_embed.c

# llhttp is compiled from Debian's node-llhttp sources, never copied here
LLHTTP_DIR := /usr/share/llhttp
LLHTTP     := llhttp api http
LLHTTP_OBJ      := $(patsubst %,build/obj/llhttp/%.o,$(LLHTTP))
LLHTTP_ASAN_OBJ := $(patsubst %,build/asan/llhttp/%.o,$(LLHTTP))

OBJ      := $(patsubst %.c,build/obj/%.o,$(SRC)) build/obj/gen/lib_embed.o $(LLHTTP_OBJ)
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(SRC)) build/asan/gen/lib_embed.o $(LLHTTP_ASAN_OBJ)
CORE_OBJ := $(patsubst %.c,build/obj/%.o,$(LANG_SRC)) build/obj/gen/lib_embed.o $(LLHTTP_OBJ)
ASAN_CORE_OBJ := $(patsubst %.c,build/asan/%.o,$(LANG_SRC)) build/asan/gen/lib_embed.o $(LLHTTP_ASAN_OBJ)
UNIT_TESTS := $(patsubst test/unit/%.c,build/test/%,$(wildcard test/unit/*.c))
ASAN_UNIT_TESTS := $(patsubst test/unit/%.c,build/test-asan/%,$(wildcard test/unit/*.c))
ASAN_ENV := ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0

.PHONY: all build run test test-unit test-valk test-asan test-gc-stress test-docs test-fuzz fuzz fuzz-http bench bench-smoke bench-soak deps clean

all: build
build: deps build/valk

deps:
	@scripts/deps.sh

build/valk: $(OBJ)
	$(CC) $(OPT) -o $@ $^ $(LIBS)

build/asan/valk: $(ASAN_OBJ)
	$(CC) -O1 -g $(SAN) -o $@ $^ $(LIBS)

$(GEN): $(LIB_VALK) scripts/embed-libs.sh
	@mkdir -p $(dir $@)
	scripts/embed-libs.sh $@ $(LIB_VALK)

build/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -Wno-unused-parameter -I/usr/share/include/llhttp $(OPT) -c -o $@ $<

build/asan/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -Wno-unused-parameter -I/usr/share/include/llhttp -O1 -g $(SAN) -c -o $@ $<

build/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) $(OPT) -c -o $@ $<

build/asan/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) -O1 -g $(SAN) -c -o $@ $<

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) $(OPT) -MMD -MP -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) -O1 -g $(SAN) -MMD -MP -c -o $@ $<

build/test/%: test/unit/%.c $(CORE_OBJ) test/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) -Itest/unit $(OPT) -o $@ $< $(CORE_OBJ) $(LIBS)

build/test-asan/%: test/unit/%.c $(ASAN_CORE_OBJ) test/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(INC) -Itest/unit -O1 -g $(SAN) -o $@ $< $(ASAN_CORE_OBJ) $(LIBS)

# the project's own pipeline (ci.valk) on this checkout
run: build
	build/valk ci run ci.valk --workspace .

# ---- tests ----
test: build
	@scripts/run-tests.sh

test-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

test-valk: build/valk
	build/valk test test/valk

DOCS := $(sort $(wildcard docs/*.md))
test-docs: build/valk
	build/valk test/doc-examples.valk $(DOCS)

test-asan: build/asan/valk $(ASAN_UNIT_TESTS)
	@for t in $(ASAN_UNIT_TESTS); do $(ASAN_ENV) $$t || exit 1; done
	$(ASAN_ENV) build/asan/valk test test/valk
	$(ASAN_ENV) build/asan/valk test/doc-examples.valk $(DOCS)

test-gc-stress: build/valk $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do VALK_GC_STRESS=1 $$t || exit 1; done
	VALK_GC_STRESS=1 build/valk test test/valk
	VALK_GC_STRESS=1 build/valk test/doc-examples.valk $(DOCS)

# libFuzzer harness for the reader; FUZZ_SECONDS sets the run length
FUZZ_SECONDS ?= 300
build/fuzz/fuzz_reader: test/fuzz/fuzz_reader.c $(LANG_SRC) $(GEN)
	@mkdir -p $(dir $@)
	clang $(CSTD) $(WARN) -Wno-unused-parameter $(INC) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ test/fuzz/fuzz_reader.c $(LANG_SRC) $(addprefix $(LLHTTP_DIR)/,$(addsuffix .c,$(LLHTTP))) $(GEN) $(LIBS)

fuzz: build/fuzz/fuzz_reader
	@mkdir -p build/fuzz/corpus
	ASAN_OPTIONS=detect_stack_use_after_return=0 build/fuzz/fuzz_reader -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 build/fuzz/corpus test/fuzz/seeds

build/fuzz/fuzz_http: test/fuzz/fuzz_http.c $(LANG_SRC) $(GEN)
	@mkdir -p $(dir $@)
	clang $(CSTD) $(WARN) -Wno-unused-parameter $(INC) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ test/fuzz/fuzz_http.c $(LANG_SRC) $(addprefix $(LLHTTP_DIR)/,$(addsuffix .c,$(LLHTTP))) $(GEN) $(LIBS)

fuzz-http: build/fuzz/fuzz_http
	@mkdir -p build/fuzz/http-corpus
	ASAN_OPTIONS=detect_stack_use_after_return=0 build/fuzz/fuzz_http -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 build/fuzz/http-corpus test/fuzz/http-seeds

bench-soak: build
	@bench/http-soak.sh

# every benchmark runs; the target fails when any of them failed
bench: build
	@st=0; for b in run runtime json http ci; do bench/$$b.sh || st=1; done; exit $$st

# each interpreter benchmark once: the programs still run and agree
bench-smoke: build
	@RUNS=1 bench/run.sh

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d)
