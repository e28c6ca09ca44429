//! Scenario 7: what the library costs to build. Its dependency graph (unique packages of
//! `cargo tree -e normal,build`, with the default features and with none), the quickstart's
//! graph beside it, the packages each heavy dependency alone brings, and one cold debug build.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The heavy direct dependencies of the library crates, and what each one buys.
pub const HEAVY: [(&str, &str); 10] = [
    (
        "reqwest",
        "the HTTP client: hyper, HTTP/2 (h2), the connection pool, proxies",
    ),
    (
        "url",
        "URLs for reqwest; its international domain names pull ICU4X (`idna_adapter` 1.2), whose `displaydoc` is the only user of syn 3",
    ),
    (
        "figment",
        "config files: TOML, YAML and JSON behind one seam; `pear_codegen` keeps syn 2 (which the derive needs anyway), `serde_yaml` 0.9 is deprecated (issue 30)",
    ),
    (
        "notify",
        "watching config and `.env` files (inotify, kqueue, ...): the `watch-files` feature, on by default",
    ),
    ("tokio", "the runtime of the client and of live settings"),
    ("rustls", "TLS, with the ring provider"),
    (
        "rustls-native-certs",
        "the system's trust roots (`VAULT_CACERT` unset)",
    ),
    (
        "webpki-roots",
        "Mozilla's trust roots, where the system has none",
    ),
    (
        "tracing",
        "events and spans (`tracing-attributes` for `#[instrument]`)",
    ),
    ("metrics", "the metrics facade (`vault_config_*`)"),
];

/// Scenario 7's results.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Graph {
    /// Unique packages of the library with its default features, and with none.
    pub library: usize,
    pub library_minimal: usize,
    /// Unique packages of the examples' package (`cargo run --example quickstart`).
    pub quickstart: usize,
    /// For each of [`HEAVY`]: the packages the library's graph holds only through it.
    pub only_through: Vec<(String, usize)>,
    /// Packages compiled twice in two versions (`cargo tree --duplicates`).
    pub duplicates: Vec<String>,
    /// One debug build of the library into an empty target directory, in seconds.
    pub cold_build_s: f64,
}

fn tree(repo: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("cargo")
        .args(["tree", "--locked", "-e", "normal,build", "--prefix", "none"])
        .args(args)
        .current_dir(repo)
        .output()
        .expect("cargo tree");
    assert!(out.status.success(), "cargo tree {args:?} failed");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.trim_end_matches(" (*)")
                .trim_end_matches(" (proc-macro)")
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

pub fn measure(repo: &Path) -> Graph {
    let library = tree(repo, &["-p", "vault-config"]).len();
    let only_through = HEAVY
        .iter()
        .map(|(name, _)| {
            let pruned = tree(repo, &["-p", "vault-config", "--prune", name]).len();
            ((*name).to_owned(), library - pruned)
        })
        .collect();
    let duplicates = tree(
        repo,
        &["-p", "vault-config", "--duplicates", "--depth", "0"],
    );
    let target = repo.join("target/bench-cold-library");
    let _ = std::fs::remove_dir_all(&target);
    let start = Instant::now();
    let status = Command::new("cargo")
        .args(["build", "--locked", "--quiet", "-p", "vault-config"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(repo)
        .status()
        .expect("cargo build");
    let cold_build_s = start.elapsed().as_secs_f64();
    assert!(status.success(), "the cold build of the library failed");
    let _ = std::fs::remove_dir_all(&target);
    Graph {
        library,
        library_minimal: tree(repo, &["-p", "vault-config", "--no-default-features"]).len(),
        quickstart: tree(repo, &["-p", "vault-config-examples"]).len(),
        only_through,
        duplicates,
        cold_build_s,
    }
}
