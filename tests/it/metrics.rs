//! Metrics through the `metrics` facade: a recorder installed for the test binary sees every
//! family while live settings run against the real server, and no label carries a value, a
//! token or a secret id.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;
use vault_config::live::Live;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault::DevVault;

/// The recorder of this test binary: global, so that it also sees what the library's own
/// runtime records (other tests' figures add to the counters; the assertions allow for it).
pub(crate) fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("no other recorder in this binary");
        snapshotter
    })
}

/// Every metric as `name{label=value,..}` with its value, and every label value seen.
pub(crate) fn snapshot() -> (BTreeMap<String, f64>, Vec<String>) {
    let mut metrics = BTreeMap::new();
    let mut labels = Vec::new();
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let key = key.key();
        let shown: Vec<String> = key
            .labels()
            .map(|l| {
                labels.push(l.value().to_owned());
                format!("{}={}", l.key(), l.value())
            })
            .collect();
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(h) => h.len() as f64,
        };
        metrics.insert(format!("{}{{{}}}", key.name(), shown.join(",")), value);
    }
    (metrics, labels)
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "metrics/{profile}"), env_prefix = "MET_")]
struct Metered {
    #[config(secret)]
    api_key: SecretString,
    #[config(static, default = 1, vault(key = "workers"))]
    workers: u32,
}

#[test]
fn live_settings_record_every_family_and_no_label_holds_a_secret() {
    let Some(v) = DevVault::get() else { return };
    snapshotter();
    const VALUE: &str = "canary-metrics-api-key-6d1e";
    let profile = format!("m{}", std::process::id());
    let path = format!("secret/metrics/{profile}");
    v.write(&path, json!({ "api_key": VALUE, "workers": 2 }));
    let loader = Metered::loader().env_vars([
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_ROLE_ID", v.short_role_id.as_str()),
        ("VAULT_SECRET_ID", v.short_secret_id.as_str()),
        ("MET_PROFILE", profile.as_str()),
    ]);
    let live = Live::builder(loader)
        .refresh_every(Duration::from_millis(200))
        .start()
        .unwrap();
    assert_eq!(live.current().api_key.expose_secret(), VALUE);
    // A static field changed in Vault: counted, not applied.
    v.write(&path, json!({ "api_key": VALUE, "workers": 3 }));
    let wanted = [
        "vault_config_logins_total{method=approle,outcome=ok}",
        "vault_config_requests_total{operation=login,outcome=ok}",
        "vault_config_requests_total{operation=detect,outcome=ok}",
        "vault_config_requests_total{operation=read,outcome=ok}",
        "vault_config_requests_total{operation=metadata,outcome=ok}",
        "vault_config_refreshes_total{settings=Metered,outcome=ok}",
        "vault_config_last_refresh_timestamp_seconds{settings=Metered}",
        "vault_config_token_ttl_seconds{settings=Metered}",
        "vault_config_vault_connected{settings=Metered}",
        "vault_config_static_field_changes_total{settings=Metered}",
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    let (metrics, labels) = loop {
        let (metrics, labels) = snapshot();
        let missing = wanted.iter().any(|w| !metrics.contains_key(*w));
        if !missing || Instant::now() > deadline {
            break (metrics, labels);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for name in wanted {
        assert!(metrics.contains_key(name), "{name} missing: {metrics:#?}");
    }
    assert_eq!(
        live.current().workers,
        2,
        "a static field keeps its first value"
    );
    assert_eq!(
        metrics["vault_config_vault_connected{settings=Metered}"],
        1.0
    );
    let ttl = metrics["vault_config_token_ttl_seconds{settings=Metered}"];
    assert!(ttl > 0.0 && ttl <= 3600.0, "{ttl}");
    let last = metrics["vault_config_last_refresh_timestamp_seconds{settings=Metered}"];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 30.0, "{last} vs {now}");
    // Names and fixed words only: no value, token, secret id or path in any label.
    let canaries = [
        VALUE,
        v.root.as_str(),
        v.short_secret_id.as_str(),
        v.short_role_id.as_str(),
        profile.as_str(),
    ];
    for label in &labels {
        for canary in canaries {
            assert!(!label.contains(canary), "a label holds `{canary}`: {label}");
        }
    }
    live.shutdown();
}
