//! Compile errors of `#[derive(VaultConfig)]`, one case per misuse (`tests/ui/<family>/`).
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p vault-config-derive --test ui` and read the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for family in [
        "unknown-attribute",
        "duplicate",
        "secret-type",
        "conflict",
        "unsupported-shape",
        "placeholder",
        "live",
        "folder",
        "vault-env",
        "field-type",
        "container",
        "files",
        "lease",
        "pki",
        "transit",
        "default",
    ] {
        t.compile_fail(format!("tests/ui/{family}/*.rs"));
    }
    // No `pass` case here: one would make trybuild build every dependency instead of checking
    // it. Derives that must compile are tests of their own (`tests/it/derive_pass.rs`).
}
