# quiet panic: the patch series, its kernels and the harness that proves it.
#
#   make demo          build, panic baseline and patched guests, print the table
#   make check         the test suite (what CI runs; BASE=6.12 or 6.1 for one base)
#   make check-quick   the smallest useful subset, for a development loop
#   make check-full    every scenario of the matrix
#   make build         baseline and patched kernels of every base
#   make lint          shellcheck, checkpatch --strict, series checks
#
# Everything large lives in $(QP_CACHE) (default ~/.cache/quiet-panic).

BASE ?= all
RUN_TESTS := kexec-tests/run-tests --base $(BASE)
SHELL_SOURCES := $(wildcard scripts/*.sh) kexec-tests/run-tests kexec-tests/lib.sh \
	$(wildcard kexec-tests/tests/*.sh) .ci/run

all: check

deps:
	@scripts/deps.sh

tools: deps
	@$(MAKE) -s -C kexec-tests

build: deps
	@for b in $$(scripts/bases.sh $(BASE)); do \
		for v in baseline patched; do scripts/build.sh $$b $$v || exit 1; done; \
	done

check: tools
	@$(RUN_TESTS) --tier check

check-quick: tools
	@kexec-tests/run-tests --base $(if $(filter all,$(BASE)),6.12,$(BASE)) --tier quick

check-full: tools
	@$(RUN_TESTS) --tier full

lint:
	shellcheck $(SHELL_SOURCES)

clean:
	$(MAKE) -C kexec-tests clean

.PHONY: all deps tools build check check-quick check-full lint clean
