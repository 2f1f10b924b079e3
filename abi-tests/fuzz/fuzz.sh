#!/usr/bin/env bash
# Differential fuzzing: glibc's POSIX AIO against libaio_shim.so.
# All options are fuzz.py's (abi-tests/fuzz/fuzz.sh --help).
exec python3 "$(dirname "$0")/fuzz.py" "$@"
