//! The generated policy of every example, proven on the real OpenBao server: the `policy`
//! command's output loaded as an ACL policy, a token holding only it (and `default`) passes
//! `check`, `load()` and live settings through a renewal and metadata reads, and is refused a
//! path outside it (`dev_vault::prove_policy`). The examples' own structs are compiled here as
//! modules, so what is proven is exactly what the examples declare.
#![cfg(feature = "cli")]

use serde_json::json;

use crate::fixtures::dev_vault;
use crate::fixtures::unique;
use dev_vault::{DevVault, prove_policy};

#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/ai_gateway.rs"]
mod ai_gateway;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/ai_trader.rs"]
mod ai_trader;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/from_vault.rs"]
mod from_vault;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/gpubroker.rs"]
mod gpubroker;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/live_service.rs"]
mod live_service;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/pake.rs"]
mod pake;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/quickstart.rs"]
mod quickstart;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/settings_admin.rs"]
mod settings_admin;
#[allow(dead_code, reason = "only the example's settings struct is used here")]
#[path = "../../examples/spreadpilot.rs"]
mod spreadpilot;

fn var(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned())]
}

#[test]
fn ai_gateway() {
    let Some(v) = DevVault::get() else { return };
    v.write(
        "secret/ai-gateway",
        json!({ "OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a", "SESSION_SECRET": "s", "DATABASE_PASSWORD": "p" }),
    );
    prove_policy::<ai_gateway::Settings>(&v, "ex-ai-gateway", "default", &[]);
}

#[test]
fn ai_trader() {
    let Some(v) = DevVault::get() else { return };
    for (path, data) in [
        ("database", json!({ "url": "postgres://t" })),
        (
            "alpaca",
            json!({ "ALPACA_API_KEY": "a", "ALPACA_SECRET_KEY": "s" }),
        ),
        ("llm", json!({ "OPENAI_API_KEY": "o" })),
        ("market-data", json!({ "FINNHUB_API_KEY": "f" })),
        (
            "session",
            json!({ "SESSION_SECRET": "s", "JWT_SECRET": "j" }),
        ),
    ] {
        v.write(&format!("secret/ai-trader/{path}"), data);
    }
    prove_policy::<ai_trader::Settings>(&v, "ex-ai-trader", "default", &[]);
}

#[test]
fn from_vault_and_live_service() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("demo");
    v.write(
        &format!("secret/vault-config-demo/{p}/database"),
        json!({ "url": "postgres://d" }),
    );
    v.write(
        &format!("secret/vault-config-demo/{p}/api"),
        json!({ "key": "k" }),
    );
    let env = var("DEMO_PROFILE", &p);
    prove_policy::<from_vault::Settings>(&v, &format!("ex-from-vault-{p}"), &p, &env);
    prove_policy::<live_service::Settings>(&v, &format!("ex-live-{p}"), &p, &env);
}

#[test]
fn gpubroker() {
    let Some(v) = DevVault::get() else { return };
    v.write("secret/gpubroker/runpod", json!({ "api_key": "r" }));
    prove_policy::<gpubroker::Settings>(&v, "ex-gpubroker", "default", &[]);
}

#[test]
fn pake() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("pake");
    for (path, data) in [
        ("database", json!({ "url": "postgres://p" })),
        ("redis", json!({ "url": "redis://r" })),
        ("security", json!({ "secret_key": "s" })),
        ("api_keys", json!({ "firecrawl_api_key": "f" })),
    ] {
        v.write(&format!("secret/pake_system/{p}/{path}"), data);
    }
    prove_policy::<pake::Settings>(&v, &format!("ex-pake-{p}"), &p, &var("PAKE_PROFILE", &p));
}

#[test]
fn quickstart() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("quick");
    v.write(&format!("secret/quickstart/{p}"), json!({ "api_key": "k" }));
    prove_policy::<quickstart::Settings>(
        &v,
        &format!("ex-quickstart-{p}"),
        &p,
        &var("QUICKSTART_PROFILE", &p),
    );
}

#[test]
fn settings_admin() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("admin");
    for (path, data) in [
        ("database", json!({ "url": "postgres://t" })),
        (
            "alpaca",
            json!({ "ALPACA_API_KEY": "a", "ALPACA_SECRET_KEY": "s" }),
        ),
        ("llm", json!({ "GROQ_API_KEY": "g" })),
    ] {
        v.write(&format!("secret/ai-trader/{p}/{path}"), data);
    }
    prove_policy::<settings_admin::Settings>(
        &v,
        &format!("ex-admin-{p}"),
        &p,
        &var("TRADER_PROFILE", &p),
    );
}

#[test]
fn spreadpilot() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("strategy");
    v.write(
        &format!("secret/ibkr/{p}"),
        json!({ "IB_USER": "u", "IB_PASS": "p" }),
    );
    prove_policy::<spreadpilot::IbkrCredentials>(
        &v,
        &format!("ex-spreadpilot-{p}"),
        &p,
        &var("PROFILE", &p),
    );
}
