//! Properties checked on generated input in every test run (the fuzz targets in `fuzz/` run the
//! same checks for longer, see RELIABILITY.md): env values, Vault answers and Agent files of
//! any shape give a value or a typed error, never a panic, and never show a secret; the
//! answers that set a token's schedule, driven through the lifecycle, never panic.

#[path = "../../fuzz/checks/agent_file.rs"]
mod agent_file;
#[path = "../../fuzz/checks/dotenv_file.rs"]
mod dotenv_file;
#[path = "../../fuzz/checks/env_value.rs"]
mod env_value;

use proptest::prelude::*;
use vault_config::vault::agent;

/// Statuses and shapes the Vault decoders branch on (see `fuzzing::vault_response`).
fn vault_answer() -> impl Strategy<Value = Vec<u8>> {
    let key = "[a-z_]{1,12}";
    let secret = "[ -~]{0,24}".prop_map(|s| format!("CANARY-{s}"));
    (
        any::<u8>(),
        any::<u8>(),
        prop::collection::btree_map(key, secret, 0..4),
        prop_oneof![Just("data"), Just("errors"), Just("warnings"), Just("auth")],
    )
        .prop_map(|(status, shape, map, envelope)| {
            let body = match envelope {
                "data" => serde_json::json!({ "data": { "data": map, "metadata": { "version": 1 } } }),
                "errors" => serde_json::json!({ "errors": map.values().collect::<Vec<_>>() }),
                "warnings" => serde_json::json!({ "data": map, "warnings": map.keys().collect::<Vec<_>>() }),
                _ => serde_json::json!({ "auth": { "client_token": map.values().next() }, "data": map }),
            };
            let mut bytes = vec![status, shape];
            bytes.extend(body.to_string().into_bytes());
            bytes
        })
}

/// `export KEY="value"` with the escapes the parser reads back.
/// Text made of `.env` pieces (names, `=`, quotes, escapes, `$`, braces, comments, line
/// ends) more than of random bytes, so that most inputs reach deep into the grammar.
fn dotenv_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "A", "_b.1", "export ", "=", " ", "\t", "'", "\"", "\\", "$", "${", "}", "#", "é", "\n",
        "\r\n", "x",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Answers that set a token's schedule, with the extremes a server may send: a TTL of 0, 1,
/// 2^63-1 and 2^64-1 seconds (see `fuzzing::lifecycle`).
fn lifecycle_answer() -> impl Strategy<Value = Vec<u8>> {
    let secs = || {
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(i64::MAX as u64),
            Just(u64::MAX),
            any::<u64>(),
        ]
    };
    (any::<u8>(), secs(), secs(), any::<bool>()).prop_map(|(mode, lease, ttl, renewable)| {
        let body = serde_json::json!({
            "auth": { "client_token": "t", "lease_duration": lease, "renewable": renewable },
            "data": { "ttl": ttl, "renewable": renewable },
            "lease_duration": lease,
        });
        let mut data = vec![mode];
        data.extend(body.to_string().into_bytes());
        data
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_as_env_values(mask: u8, value: Vec<u8>) {
        let mut data = vec![mask];
        data.extend(value);
        env_value::check(&data);
    }

    #[test]
    fn secret_env_values_never_in_the_report(mask: u8, tail in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut data = vec![mask];
        data.extend_from_slice(b"CANARY");
        data.extend(tail);
        env_value::check(&data);
    }

    #[test]
    fn any_bytes_as_a_vault_answer(data: Vec<u8>) {
        vault_config_vault::fuzzing::vault_response(&data);
    }

    #[test]
    fn shaped_vault_answers_never_show_secrets(data in vault_answer()) {
        vault_config_vault::fuzzing::vault_response(&data);
    }

    #[test]
    fn any_bytes_through_the_token_lifecycle(data: Vec<u8>) {
        vault_config_vault::fuzzing::lifecycle(&data);
    }

    #[test]
    fn extreme_ttls_through_the_token_lifecycle(data in lifecycle_answer()) {
        vault_config_vault::fuzzing::lifecycle(&data);
    }

    #[test]
    fn any_agent_file(data: Vec<u8>) {
        agent_file::check(&data);
    }

    #[test]
    fn any_dotenv_file(text in dotenv_text()) {
        dotenv_file::check(text.as_bytes());
    }

    #[test]
    fn agent_env_files_read_back_what_was_written(
        pairs in prop::collection::vec(("[A-Z_][A-Z0-9_]{0,11}", "[^\r]{0,30}"), 1..6)
    ) {
        let text: String = pairs
            .iter()
            .map(|(k, v)| format!("export {k}={}\n", quoted(v)))
            .collect();
        let read: Vec<(String, String)> = agent::parse("rendered", &text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        prop_assert_eq!(read, pairs);
    }
}
