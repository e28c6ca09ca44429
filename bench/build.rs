//! Generates the settings structs the benchmarks load: for P paths, 4·P secret fields; a
//! 50-field env-only struct in two forms (vault-config and plain serde for figment).

use std::fmt::Write as _;

fn main() {
    let mut out = String::new();
    for p in [1usize, 8, 32, 128] {
        let _ = writeln!(
            out,
            "/// {p} paths, {} secrets.\n#[derive(Debug, vault_config::VaultConfig)]\n#[config(vault(path = \"bench/p{p}\"))]\n#[allow(dead_code, reason = \"loaded, not read\")]\npub struct Paths{p} {{",
            4 * p
        );
        for i in 0..p {
            for k in 0..4 {
                let _ = writeln!(
                    out,
                    "    #[config(secret, vault(path = \"s{i}\", key = \"k{k}\"))]\n    f{i}_{k}: vault_config::SecretString,"
                );
            }
        }
        out.push_str("}\n\n");
    }
    out.push_str("/// 50 env-only fields, vault-config.\n#[derive(Debug, vault_config::VaultConfig)]\n#[config(env_prefix = \"APP_\")]\n#[allow(dead_code, reason = \"loaded, not read\")]\npub struct Env50 {\n");
    for i in 0..50 {
        let ty = ["u32", "String", "bool", "u64", "String"][i % 5];
        let _ = writeln!(out, "    f{i}: {ty},");
    }
    out.push_str("}\n\n/// The same 50 fields, plain serde for figment.\n#[derive(Debug, serde::Deserialize)]\n#[allow(dead_code, reason = \"loaded, not read\")]\npub struct Plain50 {\n");
    for i in 0..50 {
        let ty = ["u32", "String", "bool", "u64", "String"][i % 5];
        let _ = writeln!(out, "    f{i}: {ty},");
    }
    out.push_str("}\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("generated.rs");
    std::fs::write(dest, out).expect("write generated.rs");
}
