#!/bin/sh
# RUSTC_WRAPPER for a quick fuzz build (make fuzz-quick): coverage instrumentation for Tagwarden's own code
# and the fuzz targets only, so the dependencies (the AWS SDK) are the main build's, not rebuilt.
rustc="$1"
shift
case " $* " in
*" --crate-name tagwarden "* | *" --crate-name cloudtrail "* | *" --crate-name budget_alert "* | *" --crate-name policy "*)
	exec "$rustc" "$@" -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
		-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
		-Cllvm-args=-sanitizer-coverage-trace-compares
	;;
esac
exec "$rustc" "$@"
