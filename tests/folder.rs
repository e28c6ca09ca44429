//! A field loaded from every secret of a Vault folder (`vault(folder = ..)`), with a
//! `get_secret`-style lookup.

use vault_config::testing::MockVault;
use vault_config::{SecretFolder, VaultConfig, VaultPath};

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
    assert_eq!(err.problems()[0].kind, vault_config::ProblemKind::Denied);
    assert_eq!(
        err.problems()[0].vault.as_deref(),
        Some("secret/gpubroker/*")
    );
}

#[test]
fn the_real_server_lists_a_folder() {
    let (Ok(addr), Ok(root)) = (
        std::env::var("DEV_VAULT_ADDR"),
        std::env::var("DEV_VAULT_TOKEN"),
    ) else {
        assert!(
            std::env::var_os("DEV_VAULT_REQUIRED").is_none() && std::env::var_os("CI").is_none(),
            "dev server required"
        );
        return;
    };
    let base = format!("folder-{}", std::process::id());
    let (a, r, b2) = (addr.clone(), root.clone(), base.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for (name, key) in [("runpod", "rp"), ("vastai", "va")] {
                let status = reqwest::Client::new()
                    .post(format!("{a}/v1/secret/{b2}/gpubroker/{name}"))
                    .header("X-Vault-Token", &r)
                    .body(format!(r#"{{"api_key":"{key}"}}"#))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(status.is_success());
            }
        });
    })
    .join()
    .unwrap();
    #[derive(Debug, VaultConfig)]
    #[config(vault_path = "{profile}")]
    struct Real {
        #[config(vault(folder = "gpubroker"))]
        providers: SecretFolder,
    }
    let real = Real::loader()
        .env_vars([
            ("VAULT_ADDR", addr.as_str()),
            ("VAULT_TOKEN", root.as_str()),
            ("PROFILE", base.as_str()),
        ])
        .load()
        .unwrap();
    assert_eq!(real.providers.get("vastai", "api_key"), Some("va"));
    assert_eq!(real.providers.len(), 2);
}
