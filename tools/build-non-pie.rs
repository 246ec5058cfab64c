//! The build script of every binary that ships or is benchmarked (the two functions, the `tagwarden` CLI,
//! the bench driver): links them as position-dependent executables on Linux.
//!
//! NOTE: a position-independent executable (rustc's default) carries one relocation per pointer in its
//! constant data (2.2 MB of `.rela.dyn` in the CLI); the loader reads them all and writes every page of
//! `.data.rel.ro` before `main`, which made up a sixth of a cold start's peak RSS. Linked at a fixed address
//! the linker resolves them instead and those pages are never touched (docs/benchmarks.md, "Footprint").
//! Only the final link changes: the code stays position-independent, so no crate is compiled differently,
//! and build scripts, proc-macros and tests are untouched (`rustc-link-arg-bins`). The flag comes after
//! rustc's own `-pie`, and the C compiler driver (cc, or zig cc under cargo-lambda) takes the last one.
//! `TAGWARDEN_LINK_PIE=1` at build time keeps rustc's default, to measure the difference.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let pie = std::env::var_os("TAGWARDEN_LINK_PIE").is_some_and(|v| v == "1");
    if os == "linux" && !pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=../../tools/build-non-pie.rs");
    println!("cargo:rerun-if-env-changed=TAGWARDEN_LINK_PIE");
}
