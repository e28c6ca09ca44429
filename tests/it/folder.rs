//! A field loaded from every secret of a Vault folder (`vault(folder = ..)`), with a
//! `get_secret`-style lookup.

use crate::fixtures::dev_vault;
use vault_config::testing::MockVault;

use dev_vault::DevVault;
use vault_config::source::VaultPath;
use vault_config::{SecretFolder, VaultConfig};

#[derive(Debug, VaultConfig)]
struct Broker {
    /// Every provider's credentials, one secret per provider.
    #[config(vault(folder = "gpubroker"))]
    providers: SecretFolder,
}

#[test]
fn a_folder_field_gets_every_entry_and_nothing_deeper() {
    let vault = MockVault::new()
        .secret("secret/gpubroker/runpod", [("api_key", "rp-1")])
        .secret(
            "secret/gpubroker/aws",
            [("access_key_id", "AKIA"), ("secret_access_key", "s3")],
        )
        .secret("secret/gpubroker/sub/deeper", [("x", "1")])
        .secret("secret/other/thing", [("x", "1")]);
    let b = Broker::loader()
        .env_vars::<_, String, String>([])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(b.providers.names().collect::<Vec<_>>(), ["aws", "runpod"]);
    assert_eq!(b.providers.get("runpod", "api_key"), Some("rp-1"));
    assert_eq!(b.providers.get("aws", "secret_access_key"), Some("s3"));
    assert_eq!(b.providers.get("vastai", "api_key"), None);
    assert_eq!(
        vault.requested(),
        [VaultPath::folder("secret", "gpubroker")]
    );
    let shown = format!(
        "{b:?} {}",
        Broker::loader()
            .env_vars::<_, String, String>([])
            .vault(vault)
            .explain()
    );
    assert!(
        !shown.contains("rp-1") && !shown.contains("s3\""),
        "{shown}"
    );
    assert!(shown.contains("vault secret/gpubroker/*"), "{shown}");
}

#[test]
fn env_can_supply_the_whole_folder_as_json() {
    let b = Broker::loader()
        .env_vars([("PROVIDERS", r#"{"runpod": {"api_key": "from-env"}}"#)])
        .load()
        .unwrap();
    assert_eq!(b.providers.get("runpod", "api_key"), Some("from-env"));
}

#[test]
fn a_denied_folder_fails_the_load() {
    let vault = MockVault::new().deny("secret/gpubroker");
    let err = Broker::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap_err();
    assert_eq!(
        err.problems()[0].kind,
        vault_config::error::ProblemKind::Denied
    );
    assert_eq!(
        err.problems()[0].vault.as_deref(),
        Some("secret/gpubroker/*")
    );
}

#[test]
fn the_real_server_lists_a_folder() {
    let Some(v) = DevVault::get() else { return };
    let base = format!("folder-{}", std::process::id());
    for (name, key) in [("runpod", "rp"), ("vastai", "va")] {
        v.write(
            &format!("secret/{base}/gpubroker/{name}"),
            serde_json::json!({ "api_key": key }),
        );
    }
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "{profile}"))]
    struct Real {
        #[config(vault(folder = "gpubroker"))]
        providers: SecretFolder,
    }
    let real = Real::loader()
        .env_vars([
            ("VAULT_ADDR", v.addr.as_str()),
            ("VAULT_TOKEN", v.root.as_str()),
            ("PROFILE", base.as_str()),
        ])
        .load()
        .unwrap();
    assert_eq!(real.providers.get("vastai", "api_key"), Some("va"));
    assert_eq!(real.providers.len(), 2);
}
