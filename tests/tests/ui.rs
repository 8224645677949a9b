//! Compile-time tests of the `#[rpc]` macro: `ui/pass/*.rs` must build, `ui/fail/*.rs` must fail
//! with exactly the diagnostics recorded next to them in `.stderr` files.
//!
//! After a deliberate change to a diagnostic, regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p tests --test ui` and review the diff of every `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
