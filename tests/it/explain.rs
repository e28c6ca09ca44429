//! Explain: value (redacted), winning source and what it overrode, per field.

use crate::fixtures::common;

use common::{Settings, full_vault};
use vault_config::VaultConfig;

#[test]
fn explain_shows_winner_and_overridden_layers() {
    let e = Settings::loader()
        .env_vars([("APP_PORT", "9090"), ("APP_DATABASE_URL", "postgres://env")])
        .vault(full_vault())
        .explain();
    assert!(e.is_ok(), "{e}");

    let port = e.row("port").unwrap();
    assert_eq!(
        (port.value.as_str(), port.source.as_str()),
        ("9090", "env APP_PORT")
    );
    assert_eq!(port.overridden, ["default"]);

    let db = e.row("database_url").unwrap();
    assert_eq!(db.value, "[REDACTED]");
    assert_eq!(db.source, "env APP_DATABASE_URL");
    assert_eq!(db.overridden, ["vault secret/myapp/default/database#url"]);

    let user = e.row("ib_user").unwrap();
    assert_eq!(
        user.source,
        "vault secret/myapp/default/ibkr/vertical_spreads#IB_USER"
    );
    assert!(user.overridden.is_empty());

    let level = e.row("log_level").unwrap();
    assert_eq!(
        (level.value.as_str(), level.source.as_str()),
        ("info", "default")
    );

    let timeout = e.row("timeout_ms").unwrap();
    assert_eq!(
        (timeout.value.as_str(), timeout.source.as_str()),
        ("(none)", "-")
    );

    let table = e.to_string();
    let lines: Vec<_> = table.lines().collect();
    assert_eq!(
        lines[0],
        "Settings (profile `default`, order env > vault > default)"
    );
    assert!(lines[1].starts_with("FIELD"));
    // Aligned: every row's SOURCE column starts where the header's does.
    let col = lines[1].find("SOURCE").unwrap();
    assert!(
        lines[2..].iter().all(|l| l.get(col - 2..col) == Some("  ")),
        "{table}"
    );
    assert_eq!(e.to_json()["rows"][1]["value"], "[REDACTED]");
}

#[test]
fn explain_of_a_failing_load_includes_the_report() {
    let e = Settings::loader().env_vars([("APP_PORT", "x")]).explain();
    assert!(!e.is_ok());
    let text = e.to_string();
    assert!(text.contains("invalid `port`"), "{text}");
    assert!(text.contains("missing `database_url`"), "{text}");
}
