//! The README and the guide cannot rot: the set-up commands, the examples they name and the
//! scripts they call exist and are run by the README test command (`scripts/test`) or by
//! `tests/it/examples.rs`. (Their Rust blocks are compiled and run as doctests of the facade
//! crate.)

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// The README and every chapter of the guide (`src/guide/`), one after the other.
fn docs() -> String {
    let mut chapters: Vec<_> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/guide"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    chapters.sort();
    chapters.iter().fold(read("README.md"), |all, chapter| {
        all + &std::fs::read_to_string(chapter).unwrap()
    })
}

#[test]
fn the_two_setup_commands_come_first_and_ci_runs_the_test_command() {
    let readme = read("README.md");
    let setup = readme
        .split("## Set up")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let first_block = setup
        .split("```sh")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let commands: Vec<&str> = first_block
        .lines()
        .filter_map(|l| l.split('#').next().map(str::trim))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands, ["cargo run --example quickstart", "scripts/test"]);
    assert!(read(".ci/run").lines().any(|l| l.trim() == "scripts/test"));
    assert!(read("scripts/test").contains("--example quickstart"));
}

#[test]
fn every_example_the_docs_name_exists_and_is_exercised() {
    let readme = docs();
    let exercised = read("scripts/test") + &read("tests/it/examples.rs");
    // Calls as rustfmt wraps them: `spawn(\n    "name",`.
    let compact: String = exercised.split_whitespace().collect();
    let mut named: Vec<&str> = readme
        .split("--example ")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    assert!(named.len() >= 9, "{named:?}");
    for name in named {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(
            [
                format!("examples/{name}.rs"),
                format!("examples/operator/{name}.rs")
            ]
            .iter()
            .any(|file| root.join(file).exists()),
            "the docs name example {name}"
        );
        assert!(
            exercised.contains(&format!("--example {name}"))
                || exercised.contains(&format!("run_example {name}"))
                || exercised.contains(&format!("target/debug/examples/{name} "))
                || exercised.contains(&format!("run(\"{name}\""))
                || exercised.contains(&format!("example_binary(\"{name}\")"))
                || compact.contains(&format!("spawn(\"{name}\"")),
            "example {name} is not run by scripts/test or tests/it/examples.rs"
        );
    }
}

#[test]
fn every_script_the_docs_name_exists() {
    let readme = docs();
    let named: std::collections::BTreeSet<String> = readme
        .split("scripts/")
        .skip(1)
        .map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            format!("scripts/{name}")
        })
        .collect();
    for script in [
        "scripts/test",
        "scripts/dev-vault",
        "scripts/bench",
        "scripts/reliability",
    ] {
        assert!(named.contains(script), "README names {script}");
    }
    for script in &named {
        let meta = std::fs::metadata(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
            .unwrap_or_else(|_| panic!("README names {script}, which does not exist"));
        #[cfg(unix)]
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
            "{script} is executable"
        );
    }
    for command in readme
        .split("scripts/dev-vault ")
        .skip(1)
        .filter_map(|r| r.split_whitespace().next())
    {
        let command = command.trim_matches(|c: char| !c.is_alphanumeric());
        assert!(
            ["start", "stop", "env", "pause", "resume"].contains(&command),
            "README uses `scripts/dev-vault {command}`"
        );
    }
}
