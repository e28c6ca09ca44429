//! `load()` works outside any runtime and inside both Tokio flavours; `load_async()` too.

use crate::fixtures::common;

use common::{Settings, full_vault};
use vault_config::{ExposeSecret, VaultConfig};

fn load_sync() -> Settings {
    Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(full_vault())
        .load()
        .unwrap()
}

#[test]
fn load_outside_a_runtime() {
    assert_eq!(
        load_sync().database_url.expose_secret(),
        "postgres://vault/app"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn load_inside_a_current_thread_runtime() {
    assert_eq!(load_sync().ib_user.expose_secret(), "vault-user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_inside_a_multi_thread_runtime() {
    assert_eq!(load_sync().ib_user.expose_secret(), "vault-user");
}

#[tokio::test]
async fn load_async_from_async_code() {
    let s = Settings::loader()
        .env_vars([("APP_PORT", "7000")])
        .vault(full_vault())
        .load_async()
        .await
        .unwrap();
    assert_eq!(s.port, 7000);
    let explained = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(full_vault())
        .explain_async()
        .await;
    assert!(explained.is_ok());
}

#[tokio::test]
async fn load_async_future_is_send() {
    let handle = tokio::spawn(
        Settings::loader()
            .env_vars::<_, String, String>([])
            .vault(full_vault())
            .load_async(),
    );
    assert!(handle.await.unwrap().is_ok());
}
