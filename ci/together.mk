# Runs the shell commands $TOGETHER_A and $TOGETHER_B side by side under one GNU make jobserver, which
# cargo and rustc (and the C builds their build scripts start) take part in:
#
#   TOGETHER_A='command' TOGETHER_B='command' make -j2 -f ci/together.mk
#
# at most two compiler jobs run at any time in total, whichever command they belong to, so two long
# builds together keep both cores busy through each other's serial stretches without running more
# compilers (and needing more memory) than one build alone. Fails if either command fails, after
# both have ended. Used by ci/test.sh. (The commands come from the environment, not the make command
# line: command-line variables would travel in MAKEFLAGS into every make the builds run, librdkafka's.)
.PHONY: all a b
all: a b
a:
	+@$(TOGETHER_A)
b:
	+@$(TOGETHER_B)
