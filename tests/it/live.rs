//! Live settings over MockVault: rotation, last-known-good, validation on refresh, static
//! fields, notifications with names only, health, concurrency, stopping.

use std::time::{Duration, Instant};

use crate::fixtures::eventually;
use vault_config::error::ProblemKind;
use vault_config::live::Live;
use vault_config::source::SourceError;
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, LiveConfig, SecretString, VaultConfig};

fn matching_pair(s: &Svc) -> Result<(), String> {
    let (user, pass) = (s.user.expose_secret(), s.pass.expose_secret());
    if user.trim_start_matches("user-") == pass.trim_start_matches("pass-") {
        Ok(())
    } else {
        Err("user and pass come from different rotations".into())
    }
}

fn nonzero(p: &u16) -> Result<(), String> {
    if *p == 0 {
        Err("port must not be 0".into())
    } else {
        Ok(())
    }
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "svc"), validate = matching_pair, refresh = "1h")]
struct Svc {
    #[config(secret)]
    user: SecretString,
    #[config(secret)]
    pass: SecretString,
    #[config(static, default = 8080, validate = nonzero, vault(key = "port"))]
    port: u16,
    #[config(default = 1, vault(key = "workers"))]
    workers: u32,
}

fn vault(n: u32) -> MockVault {
    let v = MockVault::new();
    set(&v, n, 8080);
    v
}

fn set(v: &MockVault, n: u32, port: u16) {
    v.set(
        "secret/svc",
        [
            ("user", serde_json::json!(format!("user-{n}"))),
            ("pass", serde_json::json!(format!("pass-{n}"))),
            ("port", serde_json::json!(port)),
            ("workers", serde_json::json!(n)),
        ],
    );
}

fn start(v: &MockVault, every: Duration) -> Live<Svc> {
    Live::builder(
        Svc::loader()
            .env_vars::<_, String, String>([])
            .vault(v.clone()),
    )
    .refresh_every(every)
    .start()
    .unwrap()
}

#[test]
fn a_rotated_secret_arrives_without_restart_and_names_the_fields() {
    let v = vault(1);
    let live = start(&v, Duration::from_millis(20));
    let mut changes = live.subscribe();
    assert_eq!(live.current().user.expose_secret(), "user-1");
    set(&v, 2, 8080);
    eventually("the rotation", Duration::from_secs(10), || {
        live.current().user.expose_secret() == "user-2"
    });
    assert_eq!(live.current().pass.expose_secret(), "pass-2");
    assert_eq!(
        live.read().pass.expose_secret(),
        "pass-2",
        "the guard sees the same version"
    );
    // The new value is stored before the change is announced (a subscriber woken by the
    // announcement always reads it): wait for the announcement, not for the value.
    eventually("the change notification", Duration::from_secs(10), || {
        changes.has_changed().unwrap_or(false)
    });
    let change = changes.borrow_and_update().clone();
    assert_eq!(change.fields, ["user", "pass", "workers"]);
    assert!(change.version >= 1);
    let debug = format!("{change:?} {live:?}");
    assert!(
        !debug.contains("user-2") && !debug.contains("pass-2"),
        "{debug}"
    );
}

#[test]
fn vault_down_keeps_the_last_good_settings_and_recovers() {
    let v = vault(1);
    let live = start(&v, Duration::from_millis(20));
    v.set_failure(
        "secret/svc",
        Some(SourceError::unavailable(
            "connection refused reading secret/svc",
        )),
    );
    eventually("a failed refresh", Duration::from_secs(10), || {
        live.health().failed_refreshes > 0
    });
    let health = live.health();
    let last_error = health.last_error.as_deref().unwrap();
    // One line for health JSON: the count and the first problem with Vault's answer.
    assert_eq!(
        last_error,
        "1 problem (3 fields blocked); first: unavailable: connection refused reading secret/svc",
        "{health:?}"
    );
    assert_eq!(
        live.current().user.expose_secret(),
        "user-1",
        "last known good"
    );
    set(&v, 3, 8080);
    v.set_failure("secret/svc", None);
    eventually("recovery", Duration::from_secs(10), || {
        live.current().user.expose_secret() == "user-3"
    });
    eventually("the error to clear", Duration::from_secs(10), || {
        live.health().last_error.is_none()
    });
}

#[test]
fn an_invalid_refresh_is_rejected_whole() {
    let v = vault(1);
    let live = start(&v, Duration::from_millis(20));
    // A half-rotated pair fails the struct rule: nothing of it may be applied.
    v.set(
        "secret/svc",
        [
            ("user", "user-9"),
            ("pass", "pass-1"),
            ("port", "8080"),
            ("workers", "9"),
        ],
    );
    eventually("the rejection", Duration::from_secs(10), || {
        live.health().failed_refreshes > 0
    });
    assert!(
        live.health()
            .last_error
            .unwrap()
            .contains("different rotations")
    );
    let now = live.current();
    assert_eq!((now.user.expose_secret(), now.workers), ("user-1", 1));
}

#[test]
fn a_static_field_keeps_its_first_value_and_the_change_is_reported() {
    let v = vault(1);
    let live = start(&v, Duration::from_millis(20));
    let mut changes = live.subscribe();
    set(&v, 2, 9090);
    eventually("the rotation", Duration::from_secs(10), || {
        live.current().workers == 2
    });
    assert_eq!(live.current().port, 8080, "static: first value kept");
    eventually("the report", Duration::from_secs(10), || {
        live.health().static_changes == ["port"]
    });
    // Health is written before the change is announced: wait for the announcement.
    eventually("the change notification", Duration::from_secs(10), || {
        changes.has_changed().unwrap_or(false)
    });
    let change = changes.borrow_and_update().clone();
    assert_eq!(change.static_fields, ["port"]);
    assert!(!change.fields.contains(&"port".to_owned()));
}

#[test]
fn readers_never_see_a_torn_or_invalid_value_during_refreshes() {
    let v = vault(0);
    let live = start(&v, Duration::from_millis(1));
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let live = live.clone();
                s.spawn(move || {
                    let mut reads = 0u64;
                    let deadline = Instant::now() + Duration::from_millis(500);
                    while Instant::now() < deadline {
                        let cur = live.current();
                        assert_eq!(matching_pair(&cur), Ok(()));
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        for n in 1..200 {
            set(&v, n, 8080);
            std::thread::sleep(Duration::from_millis(2));
        }
        let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(total > 1000, "readers made {total} reads");
    });
    assert!(
        live.subscribe().borrow().version > 1,
        "refreshes were applied while reading"
    );
}

#[test]
fn health_serializes_like_the_gateway_seed() {
    let live = start(&vault(1), Duration::from_secs(3600));
    let json = serde_json::to_value(live.health()).unwrap();
    assert_eq!(json["vault_enabled"], true);
    assert_eq!(json["vault_connected"], true);
    assert!(json["last_refresh"].as_u64().unwrap() > 1_700_000_000);
    assert!(json["last_error"].is_null());
}

#[test]
fn the_first_load_fails_fast_with_the_report() {
    let err = Live::builder(
        Svc::loader()
            .env_vars::<_, String, String>([])
            .vault(MockVault::new()),
    )
    .start()
    .unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.kind == ProblemKind::Missing)
    );
}

#[test]
fn a_bad_refresh_interval_is_a_config_problem() {
    let err = Live::builder(
        Svc::loader()
            .env_vars([("VAULT_REFRESH_INTERVAL", "often")])
            .vault(vault(1)),
    )
    .start()
    .unwrap_err();
    assert_eq!(
        err.problems()[0].env.as_deref(),
        Some("VAULT_REFRESH_INTERVAL")
    );
}

#[test]
fn dropping_the_last_handle_stops_refreshing() {
    let v = vault(1);
    let live = start(&v, Duration::from_millis(5));
    eventually("some refreshes", Duration::from_secs(10), || v.calls() > 3);
    let copy = live.clone();
    drop(live);
    let before = v.calls();
    std::thread::sleep(Duration::from_millis(50));
    assert!(v.calls() > before, "a clone still runs it");
    drop(copy);
    std::thread::sleep(Duration::from_millis(50));
    let stopped_at = v.calls();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(v.calls(), stopped_at);
}

#[tokio::test(flavor = "current_thread")]
async fn watch_async_and_shutdown_async_from_a_runtime() {
    let live = Live::builder(
        Svc::loader()
            .env_vars::<_, String, String>([])
            .vault(vault(4)),
    )
    .refresh_every(Duration::from_millis(10))
    .start_async()
    .await
    .unwrap();
    assert_eq!(live.current().workers, 4);
    live.shutdown_async().await;
    // The trait form compiles for every derived struct.
    let _ = Svc::watch_async;
}

/// A source whose upkeep panics after the first load: the task's death shows in health,
/// the last settings stay readable, and shutdown still returns.
struct PanicsOnUpkeep(MockVault);

impl vault_config::source::SecretSource for PanicsOnUpkeep {
    fn fetch<'a>(
        &'a self,
        paths: &'a [vault_config::source::VaultPath],
    ) -> vault_config::source::BoxFuture<'a, Vec<vault_config::source::FetchResult>> {
        self.0.fetch(paths)
    }

    fn maintain(&self) -> vault_config::source::BoxFuture<'_, Option<Duration>> {
        Box::pin(async { panic!("upkeep failed") })
    }
}

#[test]
fn a_live_task_that_dies_shows_in_health() {
    let live = Live::builder(
        Svc::loader()
            .env_vars::<_, String, String>([])
            .vault(PanicsOnUpkeep(vault(1))),
    )
    .refresh_every(Duration::from_millis(20))
    .start()
    .unwrap();
    eventually("the death to show", Duration::from_secs(10), || {
        live.health().last_error.is_some()
    });
    let health = live.health();
    assert!(!health.vault_connected);
    assert!(
        health
            .last_error
            .unwrap()
            .contains("stopped unexpectedly (it panicked, or its runtime shut down)")
    );
    assert_eq!(live.current().user.expose_secret(), "user-1");
    live.shutdown();
}

/// A source that notes the name of the thread each read runs on.
struct ThreadNoting(MockVault, std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl vault_config::source::SecretSource for ThreadNoting {
    fn fetch<'a>(
        &'a self,
        paths: &'a [vault_config::source::VaultPath],
    ) -> vault_config::source::BoxFuture<'a, Vec<vault_config::source::FetchResult>> {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        self.1.lock().unwrap().push(name);
        self.0.fetch(paths)
    }
}

/// Started from async code the task runs on the caller's runtime (here a current-thread
/// runtime: the test's own thread); started from synchronous code, on a thread of its own.
#[test]
fn the_live_task_runs_on_the_callers_runtime_or_on_a_thread_of_its_own() {
    let threads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let loader = || {
        Svc::loader()
            .env_vars::<_, String, String>([])
            .vault(ThreadNoting(vault(1), std::sync::Arc::clone(&threads)))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let live = Live::builder(loader())
            .refresh_every(Duration::from_millis(20))
            .start_async()
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while live.health().refreshes < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(live.health().refreshes >= 2, "{:?}", live.health());
        let explained = live.explain_async().await;
        assert!(explained.is_ok());
        live.shutdown_async().await;
    });
    let me = std::thread::current().name().unwrap_or("?").to_owned();
    {
        let seen = threads.lock().unwrap();
        assert!(seen.len() >= 3, "{seen:?}");
        assert!(seen.iter().all(|t| *t == me), "not all on {me}: {seen:?}");
        drop(seen);
    }
    threads.lock().unwrap().clear();
    let live = Live::builder(loader()).start().unwrap();
    live.shutdown();
    let seen = threads.lock().unwrap();
    assert_eq!(seen.as_slice(), ["vault-config-live"], "{seen:?}");
}
