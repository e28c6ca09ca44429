//! The secrets-dir layer (Kubernetes and Docker secret mounts): its place in the order, the
//! names a file may have, explain naming the file, every bad input (a FIFO, a 1 GiB file, a
//! link out of the dir, non-UTF-8, two files for one field, a missing dir named by env), and
//! a Kubernetes `..data` swap picked up by live settings at once.

use std::path::Path;

use crate::fixtures::scratch::Dir;
use vault_config::error::ProblemKind;
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

const CANARY: &str = "canary-mounted-secret";

#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "APP_",
    vault(path = "svc"),
    secrets_dir = "/nonexistent/vc-secrets-dir"
)]
struct Svc {
    /// Port the server binds.
    #[config(default = 8080, vault(key = "port"))]
    port: u16,
    #[config(secret)]
    db_password: SecretString,
    #[config(nested)]
    redis: Redis,
}

#[derive(Debug, VaultConfig)]
struct Redis {
    #[config(default = "redis://localhost")]
    url: String,
}

/// A loader whose only env var names the secrets dir `dir`.
fn loader(dir: &str) -> vault_config::Loader<Svc> {
    Svc::loader()
        .env_vars([("APP_SECRETS_DIR", dir)])
        .no_vault()
        .no_files()
}

#[test]
fn a_file_per_field_named_by_its_env_var_or_its_path_in_any_case() {
    let d = Dir::new("mounts-names");
    d.write("db_password", format!("{CANARY}\n"));
    d.write("APP_PORT", "9000\r\n");
    d.write("Redis__URL", "redis://cache\n");
    // Not values: hidden entries, and files that name no field.
    d.write("..data/app_port", "1");
    d.write("unrelated", "x");
    let s = loader(&d.shown()).load().unwrap();
    assert_eq!(s.db_password.expose_secret(), CANARY);
    assert_eq!(s.port, 9000);
    assert_eq!(s.redis.url, "redis://cache");

    let explained = loader(&d.shown()).explain();
    assert_eq!(
        explained.row("db_password").unwrap().source,
        format!("secrets-dir {}", d.path("db_password"))
    );
    assert_eq!(
        explained.row("port").unwrap().source,
        format!("secrets-dir {}", d.path("APP_PORT"))
    );
    let shown = explained.to_string();
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(
        shown.contains(&format!("secrets-dir {} (read)", d.shown())),
        "{shown}"
    );
}

#[test]
fn env_wins_over_the_dir_and_the_dir_over_dotenv_vault_files_and_defaults() {
    let d = Dir::new("mounts-order");
    d.write("port", "2");
    d.write("db_password", "from-the-dir");
    let dotenv = d.write("x/.env", "APP_PORT=3\nAPP_DB_PASSWORD=from-dotenv\n");
    let file = d.write("x/app.toml", "port = 5\n");
    let vault = || MockVault::new().secret("secret/svc", [("port", "4"), ("db_password", "v")]);
    let dir = d.shown();
    let s = Svc::loader()
        .env_vars([("APP_SECRETS_DIR", dir.as_str()), ("APP_PORT", "1")])
        .vault(vault())
        .dotenv(&dotenv)
        .file(&file)
        .load()
        .unwrap();
    assert_eq!(s.port, 1, "env over the dir");
    let s = loader(&dir)
        .vault(vault())
        .dotenv(&dotenv)
        .file(&file)
        .load()
        .unwrap();
    assert_eq!(s.port, 2, "the dir over .env, Vault, files and the default");
    assert_eq!(s.db_password.expose_secret(), "from-the-dir");
    let explained = loader(&dir)
        .vault(vault())
        .dotenv(&dotenv)
        .file(&file)
        .explain();
    let order: Vec<&str> = explained.order.iter().map(|l| l.name()).collect();
    assert_eq!(
        order,
        ["env", "secrets-dir", "dotenv", "vault", "file", "default"]
    );
    let row = explained.row("port").unwrap();
    assert_eq!(row.source, format!("secrets-dir {}", d.path("port")));
    assert_eq!(row.overridden.len(), 4, "{:?}", row.overridden);
    // A field the dir decides is not read from Vault.
    let vault = vault();
    let s = loader(&dir).vault(vault.clone()).load().unwrap();
    assert_eq!(s.port, 2);
    assert_eq!(vault.reads_of("secret/svc"), 0);
}

#[test]
fn later_dirs_win_and_the_structs_missing_dir_is_skipped() {
    let (a, b) = (Dir::new("mounts-first"), Dir::new("mounts-second"));
    a.write("db_password", "a");
    a.write("port", "1");
    b.write("db_password", "b");
    let both = std::env::join_paths([&a.0, &b.0]).unwrap();
    let s = loader(both.to_str().unwrap()).load().unwrap();
    assert_eq!((s.db_password.expose_secret(), s.port), ("b", 1));
    // The struct's own dir does not exist here: skipped, and the secret is missing.
    let err = Svc::loader()
        .env_vars::<_, String, String>([])
        .no_vault()
        .load()
        .unwrap_err();
    assert_eq!(err.for_field("db_password").count(), 1, "{err}");
    assert_eq!(err.problems().len(), 1, "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("secrets-dir /nonexistent/vc-secrets-dir (app_db_password or db_password)"),
        "the report says where a file was looked for: {shown}"
    );
}

#[test]
fn a_dir_named_by_env_must_exist_and_be_a_directory() {
    let d = Dir::new("mounts-missing");
    let file = d.write("plain", "x");
    for (dir, why) in [
        (d.path("nope"), "does not exist"),
        (file, "is not a directory"),
    ] {
        let err = loader(&dir).load().unwrap_err();
        let problem = err
            .problems()
            .iter()
            .find(|p| p.env.as_deref() == Some("APP_SECRETS_DIR"))
            .unwrap_or_else(|| panic!("{err}"));
        assert!(
            problem.message.contains(&dir) && problem.message.contains(why),
            "{problem}"
        );
    }
}

/// One problem per bad file, naming the file and the field, never the content; the other
/// fields still load from the same dir.
fn assert_refused(dir: &Dir, why: &str) {
    let err = loader(&dir.shown()).load().unwrap_err();
    let problems: Vec<_> = err.for_field("db_password").collect();
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].kind, ProblemKind::File);
    assert!(
        problems[0].message.contains(&dir.path("db_password")) && problems[0].message.contains(why),
        "{}",
        problems[0]
    );
    assert_eq!(err.problems().len(), 1, "only that field fails: {err}");
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        err.to_json().to_string(),
    ] {
        assert!(!shown.contains(CANARY), "{shown}");
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let d = Dir::new("mounts-fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(d.path("db_password"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_refused(&d, "is not a regular file");
}

#[test]
fn a_file_of_a_gibibyte_is_refused_unread() {
    let d = Dir::new("mounts-huge");
    let file = std::fs::File::create(d.path("db_password")).unwrap();
    // Sparse: one GiB on paper, nothing on disk.
    file.set_len(1 << 30).unwrap();
    assert_refused(&d, "is larger than 1048576 bytes");
}

#[test]
fn a_file_that_is_not_utf8_is_refused() {
    let d = Dir::new("mounts-utf8");
    d.write("db_password", b"\xff\xfecanary");
    assert_refused(&d, "is not UTF-8");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_dir_is_refused_and_a_link_inside_it_followed() {
    let outside = Dir::new("mounts-outside");
    outside.write("secret", CANARY);
    let d = Dir::new("mounts-links");
    std::os::unix::fs::symlink(outside.path("secret"), d.0.join("db_password")).unwrap();
    assert_refused(&d, "is a link to outside its directory");

    let d = Dir::new("mounts-inside");
    d.write("..2026_12_03/db_password", "linked");
    std::os::unix::fs::symlink("..2026_12_03", d.0.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/db_password", d.0.join("db_password")).unwrap();
    let s = loader(&d.shown()).load().unwrap();
    assert_eq!(s.db_password.expose_secret(), "linked");
}

#[test]
fn a_bad_mount_is_a_problem_even_where_env_decides_the_field() {
    let d = Dir::new("mounts-shadowed");
    d.write("db_password", b"\xff\xfe");
    let err = Svc::loader()
        .env_vars([
            ("APP_SECRETS_DIR", d.shown().as_str()),
            ("APP_DB_PASSWORD", "from-env"),
        ])
        .no_vault()
        .no_files()
        .load()
        .unwrap_err();
    let problem = err.for_field("db_password").next().unwrap();
    assert!(problem.message.contains("is not UTF-8"), "{problem}");
}

#[test]
fn two_files_for_one_field_are_one_problem() {
    let d = Dir::new("mounts-two");
    d.write("db_password", CANARY);
    d.write("APP_DB_PASSWORD", CANARY);
    let err = loader(&d.shown()).load().unwrap_err();
    let problem = err.for_field("db_password").next().unwrap();
    assert!(
        problem.message.contains("APP_DB_PASSWORD, db_password"),
        "{problem}"
    );
}

/// Kubernetes updates a mounted Secret by writing a new timestamped directory and renaming a
/// new `..data` link over the old one; the files are links through `..data`.
#[cfg(unix)]
fn kubernetes_swap(dir: &Path, generation: u32, value: &str) {
    let data = format!("..2026_12_03_{generation}");
    std::fs::create_dir_all(dir.join(&data)).unwrap();
    std::fs::write(dir.join(&data).join("db_password"), value).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(&data, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    if generation > 0 {
        let _ = std::fs::remove_dir_all(dir.join(format!("..2026_12_03_{}", generation - 1)));
    }
}

#[cfg(unix)]
#[test]
fn live_settings_see_a_kubernetes_swap_at_once() {
    use vault_config::live::Live;
    let d = Dir::new("mounts-swap");
    kubernetes_swap(&d.0, 0, "first");
    std::os::unix::fs::symlink("..data/db_password", d.0.join("db_password")).unwrap();
    // An hour between refreshes: only the watch can bring the change in time.
    let live = Live::builder(loader(&d.shown()))
        .refresh_every(std::time::Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(live.current().db_password.expose_secret(), "first");
    let mut changes = live.subscribe();
    kubernetes_swap(&d.0, 1, "second");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(20), changes.changed())
            .await
            .expect("a change within 20 s")
            .unwrap();
    });
    assert_eq!(changes.borrow_and_update().fields, ["db_password"]);
    assert_eq!(live.current().db_password.expose_secret(), "second");
    // Reading the files (as the refresh did) is no change: no refresh follows on its own.
    let refreshes = live.health().refreshes;
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(live.health().refreshes, refreshes);
    live.shutdown();
}
