//! Secret buffers are zeroized before their memory is freed. A counting allocator looks into
//! every block freed while a check runs and counts those still holding the canary: a plain
//! `String` (the control) leaves it behind; the library's secret holders must not.
#[path = "../config-vault/src/scanning_alloc.rs"]
mod scanning_alloc;

use std::collections::BTreeMap;

use scanning_alloc::{CANARY, Scanning, canary, leftovers};
use serde_json::Value;
use vault_config::source::SecretData;
use vault_config::testing::MockVault;
use vault_config::{EnvSnapshot, ExposeSecret, SecretString, VaultConfig};

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

#[derive(Debug, VaultConfig)]
#[config(vault(path = "app"), env_prefix = "ZZ_")]
struct Settings {
    #[config(secret)]
    from_vault: SecretString,
    #[config(secret)]
    from_env: SecretString,
}

// One test: the allocator is global, so no other test may free memory while one scans.
#[test]
fn secret_holders_zeroize_before_freeing() {
    // The control: a plain String leaves the value in freed memory.
    assert!(
        leftovers(|| drop(canary())) > 0,
        "the detector sees nothing"
    );

    assert_eq!(
        leftovers(|| drop(SecretString::from(canary()))),
        0,
        "SecretString"
    );

    assert_eq!(
        leftovers(|| {
            let mut map = BTreeMap::new();
            // Built without json!, which serializes a copy and frees the original.
            let list = Value::Array(vec![Value::String(canary())]);
            map.insert("key".to_owned(), Value::String(canary()));
            map.insert(
                "nested".to_owned(),
                Value::Object([("list".to_owned(), list)].into_iter().collect()),
            );
            drop(SecretData::new(map));
        }),
        0,
        "SecretData"
    );

    assert_eq!(
        leftovers(|| drop(EnvSnapshot::from_iter([("ZZ_FROM_ENV", canary())]))),
        0,
        "EnvSnapshot"
    );

    // A whole load: env and Vault values through resolution and deserialization, then the
    // settings dropped. Every intermediate copy is freed inside the window.
    let leftover = leftovers(|| {
        let vault =
            MockVault::new().secret("secret/app", [("from_vault", Value::String(canary()))]);
        let settings = Settings::loader()
            .env(EnvSnapshot::from_iter([("ZZ_FROM_ENV", canary())]))
            .vault(vault)
            .load()
            .unwrap();
        assert_eq!(settings.from_vault.expose_secret(), CANARY);
        assert_eq!(settings.from_env.expose_secret(), CANARY);
        drop(settings);
    });
    assert_eq!(
        leftover, 0,
        "a load left copies of a secret in freed memory"
    );

    // Vault Agent injected files: read, parsed (an env file with quotes, a one-value file),
    // placed under the env snapshot and loaded.
    let dir = std::env::temp_dir().join(format!("vc-zeroize-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ZZ_FROM_ENV"), format!("{CANARY}\n")).unwrap();
    std::fs::write(dir.join("db"), format!("export ZZ_OTHER=\"{CANARY}\"\n")).unwrap();
    let dir_text = dir.display().to_string();
    let leftover = leftovers(|| {
        let files = vault_config::vault::agent::read_dir(&dir).unwrap();
        assert_eq!(files.len(), 2);
        drop(files);
        let vault =
            MockVault::new().secret("secret/app", [("from_vault", Value::String(canary()))]);
        let settings = Settings::loader()
            .env(EnvSnapshot::from_iter([(
                "VAULT_SECRETS_PATH",
                dir_text.as_str(),
            )]))
            .vault(vault)
            .load()
            .unwrap();
        assert_eq!(settings.from_env.expose_secret(), CANARY);
        drop(settings);
    });
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(leftover, 0, "Agent file values left copies in freed memory");

    // A `.env` file: read, parsed (quotes, an escape, a substitution that copies the secret
    // into a longer value), placed under the env snapshot and loaded.
    let dotenv = std::env::temp_dir().join(format!("vc-zeroize-dotenv-{}", std::process::id()));
    std::fs::write(
        &dotenv,
        format!("ZZ_FROM_ENV=\"{CANARY}\"\nLONGER=\"prefix \\\" ${{ZZ_FROM_ENV}} suffix\"\n"),
    )
    .unwrap();
    let dotenv_text = dotenv.display().to_string();
    let leftover = leftovers(|| {
        let vault =
            MockVault::new().secret("secret/app", [("from_vault", Value::String(canary()))]);
        let settings = Settings::loader()
            .env(EnvSnapshot::from_iter([("UNRELATED", "1")]))
            .dotenv(dotenv_text.as_str())
            .vault(vault)
            .load()
            .unwrap();
        assert_eq!(settings.from_env.expose_secret(), CANARY);
        drop(settings);
    });
    assert_eq!(leftover, 0, ".env values left copies in freed memory");

    // The same secret, then a line that cannot be parsed, and a name given twice: the load
    // fails, and neither the value parsed before the error nor the replaced one is left. The
    // file's text is wiped here too, so that no freed block of this test holds the canary.
    let mut text = [
        "ZZ_FROM_ENV=",
        CANARY,
        "\nZZ_FROM_ENV=",
        CANARY,
        "\nNOT A LINE\n",
    ]
    .concat()
    .into_bytes();
    std::fs::write(&dotenv, &text).unwrap();
    text.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&text);
    drop(text);
    vault_config::vault::blocking::wait_for_give_backs(std::time::Duration::from_secs(5));
    let leftover = leftovers(|| {
        let failed = Settings::loader()
            .env(EnvSnapshot::from_iter([("UNRELATED", "1")]))
            .dotenv(dotenv_text.as_str())
            .vault(MockVault::new())
            .load();
        assert!(failed.is_err());
    });
    std::fs::remove_file(&dotenv).unwrap();
    assert_eq!(
        leftover, 0,
        "a .env that failed to parse left copies in freed memory"
    );
}
