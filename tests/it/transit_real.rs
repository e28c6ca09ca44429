//! Secrets encrypted by the transit engine of `scripts/dev-vault` in config files and env
//! (`transit_key = ".."`): the example's file loads with a token holding only the generated
//! policy, in one decrypt request however many ciphertexts; `rewrap` after a rotation changes
//! only the ciphertexts; `encrypt` reads stdin; a trimmed version, a wrong key and a denied
//! decrypt each give one clear problem; live settings decrypt again only when a ciphertext
//! changed; no plaintext and no ciphertext in any output.

use std::time::Duration;

use vault_config::{ExposeSecret, SecretString, VaultConfig};
use vault_config_core::EnvSnapshot;

use crate::fixtures::dev_vault::DevVault;
use crate::fixtures::fault_proxy::FaultProxy;
use crate::fixtures::scratch::Dir;

/// The example's settings (`examples/encrypted.rs`), its files read from where they are.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "SHOP_",
    vault(path = "shop/{profile}"),
    files = ["examples/encrypted/config/default.toml", "examples/encrypted/config/{profile}.toml"],
    transit_key = "shop"
)]
struct Shop {
    #[config(default = 8080)]
    port: u16,
    #[config(nested)]
    db: Db,
    #[config(nested)]
    payments: Payments,
}

#[derive(Debug, VaultConfig)]
struct Db {
    #[config(default = "localhost")]
    host: String,
    #[config(secret)]
    password: SecretString,
}

#[derive(Debug, VaultConfig)]
struct Payments {
    #[config(secret)]
    api_key: SecretString,
}

/// The same settings over files the test writes: `target/transit-tests/{profile}.toml`
/// (each test its own profile; tests never change the working directory).
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "SHOP_",
    vault(path = "shop/{profile}"),
    files = ["target/transit-tests/{profile}.toml"],
    transit_key = "shop"
)]
struct Scratch {
    #[config(nested)]
    db: Db,
    #[config(nested)]
    payments: Payments,
}

const DB_PASSWORD: &str = "s3cr3t-db-password";
const API_KEY: &str = "sk-live-shop-api-key";

fn example_file() -> String {
    std::fs::read_to_string("examples/encrypted/config/production.toml").unwrap()
}

/// The example file's ciphertexts, in order.
fn ciphertexts(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once("= \"").map(|(_, v)| v.trim_end_matches('"')))
        .filter(|v| vault_config_core::transit::version(v).is_some())
        .map(str::to_owned)
        .collect()
}

/// A copy of the dev key `shop` under a name of the test's own (so that rotating it or
/// trimming its versions touches no other test).
fn own_key(v: &DevVault, name: &str) -> String {
    let key = format!("{name}-{}", std::process::id());
    let backup = std::fs::read_to_string("scripts/dev-transit-shop.backup").unwrap();
    let _ = v.call(
        "POST",
        &format!("transit/keys/{key}/config"),
        Some(&serde_json::json!({"deletion_allowed": true})),
    );
    let _ = v.call("DELETE", &format!("transit/keys/{key}"), None);
    let (status, body) = v.call(
        "POST",
        &format!("transit/restore/{key}"),
        Some(&serde_json::json!({ "backup": backup.trim() })),
    );
    assert!((200..300).contains(&status), "restore: {status} {body}");
    key
}

/// Rotates the transit key `key`: its ciphertexts of version 1 are no longer the latest.
fn rotate(v: &DevVault, key: &str) {
    let (status, body) = v.call("POST", &format!("transit/keys/{key}/rotate"), None);
    assert!((200..300).contains(&status), "rotate: {status} {body}");
}

/// The environment of the admin command line: the dev server as root, the key, the profile.
#[cfg(feature = "cli")]
fn admin_vars<'a>(v: &'a DevVault, key: &'a str, profile: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("SHOP_TRANSIT_KEY", key),
        ("SHOP_PROFILE", profile),
    ]
}

/// `target/transit-tests/<profile>.toml` holding `text`; its path.
fn scratch_file(profile: &str, text: &str) -> String {
    std::fs::create_dir_all("target/transit-tests").unwrap();
    let path = format!("target/transit-tests/{profile}.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The admin command line of `T` with these variables, arguments and stdin: its exit code,
/// stdout and stderr.
#[cfg(feature = "cli")]
fn admin<T: VaultConfig>(
    vars: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("shop-admin").chain(args.iter().copied());
    let code = vault_config::cli::run_with_input::<T>(
        argv,
        EnvSnapshot::from_iter(vars.iter().copied()),
        &mut stdin.as_bytes(),
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_example_file_loads_with_only_its_generated_policy_in_one_decrypt_request() {
    let Some(v) = DevVault::get() else { return };
    let hcl = Shop::schema().policy(
        &["production"],
        &vault_config_core::location::Overrides::none(),
        |m| m == "secret",
    );
    assert!(
        hcl.contains("path \"transit/decrypt/shop\" {\n  capabilities = [\"update\"]\n}"),
        "{hcl}"
    );
    assert!(
        !hcl.contains("transit/encrypt") || hcl.contains("# (`encrypt`"),
        "{hcl}"
    );
    v.put_policy("transit-shop", &hcl);
    let token = v.token_with(&["transit-shop"], "1h");
    let proxy = FaultProxy::start(&v.addr);
    let vars = env(&[("VAULT_ADDR", &proxy.url()), ("VAULT_TOKEN", &token)]);
    let loader = || Shop::loader().env_vars(vars.clone()).profile("production");
    let shop = loader().load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shop.db.password.expose_secret(), DB_PASSWORD);
    assert_eq!(shop.payments.api_key.expose_secret(), API_KEY);
    assert_eq!(
        (shop.db.host.as_str(), shop.port),
        ("db.shop.internal", 8080)
    );
    let decrypts: Vec<_> = proxy
        .log()
        .into_iter()
        .filter(|s| s.request.path.starts_with("transit/"))
        .collect();
    assert_eq!(
        decrypts.len(),
        1,
        "one batch for both ciphertexts: {decrypts:?}"
    );
    assert_eq!(decrypts[0].request.path, "transit/decrypt/shop");
    let body: serde_json::Value = serde_json::from_slice(&decrypts[0].request.body).unwrap();
    assert_eq!(
        body["batch_input"].as_array().map(Vec::len),
        Some(2),
        "{body}"
    );

    let explained = loader().explain().to_string();
    println!("{explained}");
    assert!(
        explained.contains(
            "file examples/encrypted/config/production.toml (db.password, transit shop v1)"
        ),
        "{explained}"
    );
    let check = loader().check();
    assert!(check.ok, "{check}");
    let shown = check.to_string();
    let line = shown
        .lines()
        .find(|l| l.contains("transit/decrypt/shop"))
        .unwrap_or_else(|| panic!("check names the decrypt path: {shown}"));
    assert!(
        line.ends_with("ok          2 ciphertexts decrypted"),
        "{line}"
    );
}

#[test]
#[cfg(feature = "cli")]
fn rewrap_after_a_rotation_changes_only_the_ciphertexts_and_the_file_still_loads() {
    let Some(v) = DevVault::get() else { return };
    let key = own_key(&v, "rewrap");
    rotate(&v, &key);
    let profile = format!("rewrap{}", std::process::id());
    let before = example_file();
    let path = scratch_file(&profile, &before);
    let vars = admin_vars(&v, &key, &profile);
    let run = |args: &[&str]| {
        let (code, out, err) = admin::<Scratch>(&vars, args, "");
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    };
    let dry = run(&["rewrap", "--dry-run"]);
    assert!(
        dry.contains("db.password v1 -> v2 (dry run: not written)"),
        "{dry}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        before,
        "a dry run writes nothing"
    );

    let done = run(&["rewrap"]);
    println!("{done}");
    assert!(done.contains("payments.api_key v1 -> v2"), "{done}");
    let after = std::fs::read_to_string(&path).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(
        changed.len(),
        2,
        "only the two ciphertext lines: {changed:?}"
    );
    for (b, a) in &changed {
        assert!(
            b.contains("vault:v1:") && a.contains("vault:v2:"),
            "{b} -> {a}"
        );
        assert_eq!(b.split('=').next(), a.split('=').next(), "the key stays");
    }
    let loaded = Scratch::loader()
        .env_vars(vars.iter().copied())
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.db.password.expose_secret(), DB_PASSWORD);
    assert_eq!(loaded.payments.api_key.expose_secret(), API_KEY);

    let again = run(&["rewrap"]);
    assert!(
        again.contains("every ciphertext is at its key's latest version"),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        after,
        "nothing to rewrap, nothing written"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
#[cfg(feature = "cli")]
fn encrypt_reads_the_value_from_stdin_and_prints_the_line_that_loads() {
    let Some(v) = DevVault::get() else { return };
    let key = own_key(&v, "encrypt");
    let profile = format!("encrypt{}", std::process::id());
    let vars = admin_vars(&v, &key, &profile);
    let run = |args: &[&str], stdin: &str| admin::<Scratch>(&vars, args, stdin);
    let (code, out, err) = run(&["encrypt", "db.password"], "a fresh password\n");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# db.password, under [db] in a TOML file:\npassword = \"vault:v1:"),
        "{out}"
    );
    assert!(!out.contains("a fresh password"));
    let line = out.lines().nth(1).unwrap();
    let api = ciphertexts(&example_file()).pop().unwrap();
    let path = scratch_file(
        &profile,
        &format!("[db]\n{line}\n[payments]\napi_key = \"{api}\"\n"),
    );
    let loaded = Scratch::loader()
        .env_vars(vars.iter().copied())
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.db.password.expose_secret(),
        "a fresh password",
        "the trailing newline is dropped"
    );

    let (code, _, err) = run(&["encrypt", "db.pasword"], "x");
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `db.password`?"), "{err}");
    let (code, _, err) = run(&["encrypt", "db.password"], "");
    assert_eq!(code, 2);
    assert!(err.contains("no value on stdin"), "{err}");
    let _ = std::fs::remove_file(&path);
}

/// A load of a file with the example's password ciphertext alone (the API key from env),
/// with these variables; its one problem, shown.
fn one_problem(vars: &[(&str, &str)], profile: &str) -> String {
    let password = ciphertexts(&example_file()).remove(0);
    let path = scratch_file(profile, &format!("[db]\npassword = \"{password}\"\n"));
    let err = Scratch::loader()
        .env_vars(vars.iter().copied().chain([
            ("SHOP_PAYMENTS__API_KEY", "plain-from-env"),
            ("SHOP_PROFILE", profile),
        ]))
        .load()
        .expect_err("the password does not decrypt");
    let _ = std::fs::remove_file(&path);
    assert_eq!(err.problems().len(), 1, "{err}");
    let problem = &err.problems()[0];
    assert_eq!(problem.field.as_deref(), Some("db.password"));
    assert_eq!(problem.file.as_deref(), Some("db.password"));
    let shown = format!("{err}\n{err:?}");
    assert!(
        !shown.contains(&password) && !shown.contains(DB_PASSWORD),
        "{shown}"
    );
    assert!(
        !shown.contains(&password[10..30]),
        "no piece of the ciphertext: {shown}"
    );
    shown
}

#[test]
fn a_trimmed_version_a_wrong_key_and_a_denied_decrypt_each_give_one_clear_problem() {
    let Some(v) = DevVault::get() else { return };
    let pid = std::process::id();
    // Trimmed: the key rotated and version 1 no longer allowed to decrypt.
    let trimmed = own_key(&v, "trimmed");
    rotate(&v, &trimmed);
    let (status, body) = v.call(
        "POST",
        &format!("transit/keys/{trimmed}/config"),
        Some(&serde_json::json!({ "min_decryption_version": 2 })),
    );
    assert!((200..300).contains(&status), "{status} {body}");
    let root = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
    ];
    let shown = one_problem(
        &[root[0], root[1], ("SHOP_TRANSIT_KEY", trimmed.as_str())],
        &format!("trimmed{pid}"),
    );
    println!("{shown}");
    assert!(shown.contains(&format!("invalid `db.password`: the transit ciphertext in file target/transit-tests/trimmed{pid}.toml (db.password) did not decrypt with key `{trimmed}`: transit/decrypt/{trimmed} could not decrypt it:")), "{shown}");
    assert!(
        shown.contains("version"),
        "the server's reason names the version: {shown}"
    );
    // Beside a ciphertext of the latest version, in the same batch: that one decrypts, and
    // check says how many did.
    let (status, body) = v.call(
        "POST",
        &format!("transit/encrypt/{trimmed}"),
        // base64 of API_KEY
        Some(&serde_json::json!({ "plaintext": "c2stbGl2ZS1zaG9wLWFwaS1rZXk=" })),
    );
    assert!((200..300).contains(&status), "{status} {body}");
    let latest = body["data"]["ciphertext"].as_str().unwrap().to_owned();
    let password = ciphertexts(&example_file()).remove(0);
    let profile = format!("mixed{pid}");
    let path = scratch_file(
        &profile,
        &format!("[db]\npassword = \"{password}\"\n[payments]\napi_key = \"{latest}\"\n"),
    );
    let check = Scratch::loader()
        .env_vars([
            root[0],
            root[1],
            ("SHOP_TRANSIT_KEY", trimmed.as_str()),
            ("SHOP_PROFILE", profile.as_str()),
        ])
        .check();
    let _ = std::fs::remove_file(&path);
    let shown = check.to_string();
    assert!(!check.ok, "{shown}");
    assert_eq!(check.problems.len(), 1, "only the password: {shown}");
    assert!(shown.contains("1 of 2 ciphertexts decrypted"), "{shown}");

    // A wrong key: a key of its own that never encrypted it.
    let wrong = format!("wrong-{pid}");
    v.call("POST", &format!("transit/keys/{wrong}"), None);
    let shown = one_problem(
        &[root[0], root[1], ("SHOP_TRANSIT_KEY", wrong.as_str())],
        &format!("wrong{pid}"),
    );
    assert!(
        shown.contains(&format!("transit/decrypt/{wrong} could not decrypt it:")),
        "{shown}"
    );

    // Denied: a token whose policy reads KV but may not decrypt.
    v.put_policy(
        "transit-none",
        "path \"secret/data/*\" { capabilities = [\"read\"] }\n",
    );
    let token = v.token_with(&["transit-none"], "1h");
    let shown = one_problem(
        &[
            ("VAULT_ADDR", v.addr.as_str()),
            ("VAULT_TOKEN", token.as_str()),
        ],
        &format!("denied{pid}"),
    );
    assert!(shown.contains("denied `db.password`"), "{shown}");
    assert!(shown.contains("transit/decrypt/shop"), "{shown}");
}

#[test]
fn live_settings_decrypt_again_only_when_a_ciphertext_changed() {
    use vault_config::live::Live;
    let Some(v) = DevVault::get() else { return };
    let key = own_key(&v, "live");
    let proxy = FaultProxy::start(&v.addr);
    let d = Dir::new("transit-live");
    let [password, api] = <[String; 2]>::try_from(ciphertexts(&example_file())).unwrap();
    let file = d.write(
        "shop.toml",
        format!("[db]\npassword = \"{password}\"\n[payments]\napi_key = \"{api}\"\n"),
    );
    let loader = Scratch::loader()
        .env_vars([
            ("VAULT_ADDR", proxy.url().as_str()),
            ("VAULT_TOKEN", v.root.as_str()),
            ("SHOP_TRANSIT_KEY", key.as_str()),
        ])
        .no_files()
        .file(&file);
    let live = Live::builder(loader)
        .refresh_every(Duration::from_millis(200))
        .start()
        .unwrap();
    let decrypts = || {
        proxy
            .log()
            .iter()
            .filter(|s| s.request.path.starts_with("transit/decrypt/"))
            .count()
    };
    let refreshes = live.health().refreshes;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while live.health().refreshes < refreshes + 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "five refreshes in 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        decrypts(),
        1,
        "five refreshes and no change: the plaintexts are kept"
    );

    // A new ciphertext for the password (encrypted now), written over the file.
    let (status, body) = v.call(
        "POST",
        &format!("transit/encrypt/{key}"),
        Some(&serde_json::json!({ "plaintext": "c2Vjb25k" })),
    );
    assert_eq!(status, 200, "{body}");
    let second = body["data"]["ciphertext"].as_str().unwrap();
    std::fs::write(
        &file,
        format!("[db]\npassword = \"{second}\"\n[payments]\napi_key = \"{api}\"\n"),
    )
    .unwrap();
    while live.current().db.password.expose_secret() != "second" {
        assert!(
            std::time::Instant::now() < deadline,
            "the new password published in 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(decrypts(), 2, "decrypted again once, for the changed file");
    assert_eq!(live.current().payments.api_key.expose_secret(), API_KEY);
    live.shutdown();
}

#[test]
fn no_plaintext_and_no_ciphertext_in_any_output() {
    let Some(v) = DevVault::get() else { return };
    let (capture, guard) = crate::fixtures::trace_capture::capture_trace();
    let vars = env(&[("VAULT_ADDR", &v.addr), ("VAULT_TOKEN", &v.root)]);
    let loader = || Shop::loader().env_vars(vars.clone()).profile("production");
    let shop = loader().load().unwrap_or_else(|e| panic!("{e}"));
    let explained = loader().explain();
    let check = loader().check();
    // A failing load too: one ciphertext that does not decrypt (a wrong key from env).
    let failed = Shop::loader()
        .env_vars(
            vars.iter()
                .cloned()
                .chain(env(&[("SHOP_TRANSIT_KEY", "no-such-key")])),
        )
        .profile("production")
        .load()
        .expect_err("no such key");
    drop(guard);
    let outputs = [
        format!("{shop:?}"),
        explained.to_string(),
        explained.to_json().to_string(),
        check.to_string(),
        check.to_json().to_string(),
        failed.to_string(),
        format!("{failed:?}"),
        capture.text(),
    ];
    let mut canaries = ciphertexts(&example_file());
    canaries.extend([DB_PASSWORD.to_owned(), API_KEY.to_owned()]);
    for (i, out) in outputs.iter().enumerate() {
        for canary in &canaries {
            assert!(
                !out.contains(canary.as_str()),
                "output {i} shows a canary:\n{out}"
            );
        }
    }
    assert!(
        capture.text().contains("vault.transit.decrypt"),
        "the decrypt is traced"
    );
}

#[test]
fn ciphertexts_where_none_is_decrypted_are_problems_and_a_plain_secret_in_a_file_still_is() {
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "NOKEY_")]
    #[allow(dead_code, reason = "only the load's problems are looked at")]
    struct NoKey {
        #[config(secret)]
        token: SecretString,
        name: String,
    }
    let d = Dir::new("transit-nokey");
    let file = d.write(
        "app.toml",
        "token = \"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\nname = \"vault:v3:BBBBBBBBBBBBBBBBBBBBBBBB\"\n",
    );
    let err = NoKey::loader()
        .env_vars::<[(&str, &str); 0], &str, &str>([])
        .no_vault()
        .no_files()
        .file(&file)
        .load()
        .expect_err("nothing can decrypt these");
    let shown = err.to_string();
    println!("{shown}");
    assert_eq!(err.problems().len(), 2, "one problem per field: {shown}");
    assert!(shown.contains("but no transit key is named for `token`: write `transit_key = \"..\"` on the struct or the field, or set NOKEY_TRANSIT_KEY"), "{shown}");
    assert!(
        shown.contains("but `name` is no secret: only secrets are decrypted"),
        "{shown}"
    );
    assert!(
        !shown.contains("AAAAAAAA") && !shown.contains("BBBBBBBB"),
        "{shown}"
    );

    // With a key but no Vault: said so, for the one field.
    let token_only = d.write(
        "token.toml",
        "token = \"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n",
    );
    let err = NoKey::loader()
        .env_vars([("NOKEY_TRANSIT_KEY", "app"), ("NOKEY_NAME", "plain")])
        .no_vault()
        .no_files()
        .file(&token_only)
        .load()
        .expect_err("no Vault to decrypt");
    assert_eq!(err.problems().len(), 1, "{err}");
    assert!(
        err.to_string()
            .contains("no Vault source is configured to decrypt it"),
        "{err}"
    );

    // A plain secret in a config file is refused as ever.
    let plain = d.write("plain.toml", "token = \"hunter2\"\nname = \"n\"\n");
    let err = NoKey::loader()
        .env_vars([("NOKEY_TRANSIT_KEY", "app")])
        .no_vault()
        .no_files()
        .file(&plain)
        .load()
        .expect_err("a plain secret in a file");
    assert!(
        err.to_string().contains("holds a value for this secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn the_key_of_a_field_is_its_own_else_its_nested_structs_else_the_env_else_the_roots() {
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "KEYS_", transit_key = "root-{profile}")]
    #[allow(dead_code, reason = "only the schema is looked at")]
    struct Keys {
        #[config(secret)]
        token: SecretString,
        #[config(secret, transit_key = "kms/own")]
        own: SecretString,
        #[config(nested)]
        billing: Billing,
        name: String,
    }
    #[derive(Debug, VaultConfig)]
    #[config(transit_key = "billing")]
    #[allow(dead_code, reason = "only the schema is looked at")]
    struct Billing {
        #[config(secret)]
        api_key: SecretString,
        #[config(secret, transit_key = "cards")]
        card_key: SecretString,
    }
    let schema = vault_config_core::Schema::of::<Keys>();
    let key = |env: &EnvSnapshot, path: &str| {
        vault_config_core::transit::key_for(&schema, env, "prod", path).map(|k| k.to_string())
    };
    let none = EnvSnapshot::default();
    let over: EnvSnapshot = [("KEYS_TRANSIT_KEY", "env-{profile}")]
        .into_iter()
        .collect();
    for (path, plain, with_env) in [
        ("token", "root-prod", "env-prod"),
        ("own", "kms/own", "kms/own"),
        ("billing.api_key", "billing", "billing"),
        ("billing.card_key", "cards", "cards"),
    ] {
        assert_eq!(key(&none, path).as_deref(), Ok(plain), "{path}");
        assert_eq!(key(&over, path).as_deref(), Ok(with_env), "{path} with env");
    }
    assert_eq!(
        key(&none, "name"),
        Err("`name` is no secret: write its value itself".to_owned())
    );
    assert_eq!(
        key(&none, "billing.apikey"),
        Err("`billing.apikey` is no field of `Keys`; did you mean `billing.api_key`?".to_owned())
    );
}

/// The example's settings over a YAML file and a JSON file the test writes.
#[cfg(feature = "cli")]
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "SHOP_",
    files = ["target/transit-tests/{profile}.yaml", "target/transit-tests/{profile}.json"],
    transit_key = "shop"
)]
struct YamlJson {
    #[config(nested)]
    db: Db,
    #[config(nested)]
    payments: Payments,
}

#[test]
#[cfg(feature = "cli")]
fn rewrap_keeps_yaml_and_json_as_written_and_leaves_an_escaped_ciphertext_for_a_hand_edit() {
    let Some(v) = DevVault::get() else { return };
    let key = own_key(&v, "rewrap-yaml");
    rotate(&v, &key);
    let [password, api] = <[String; 2]>::try_from(ciphertexts(&example_file())).unwrap();
    let profile = format!("yamljson{}", std::process::id());
    std::fs::create_dir_all("target/transit-tests").unwrap();
    let yaml_path = format!("target/transit-tests/{profile}.yaml");
    let json_path = format!("target/transit-tests/{profile}.json");
    // YAML: comments and an unquoted ciphertext; JSON: the other secret.
    let yaml =
        format!("# the database\ndb:\n  host: db.internal   # primary\n  password: {password}\n");
    let json = format!("{{\n  \"payments\": {{ \"api_key\": \"{api}\" }}\n}}\n");
    std::fs::write(&yaml_path, &yaml).unwrap();
    std::fs::write(&json_path, &json).unwrap();
    let vars = admin_vars(&v, &key, &profile);
    let run = |args: &[&str]| {
        let (code, out, err) = admin::<YamlJson>(&vars, args, "");
        (code, out + &err)
    };
    let (code, out) = run(&["rewrap"]);
    assert_eq!(code, 0, "{out}");
    let (yaml_after, json_after) = (
        std::fs::read_to_string(&yaml_path).unwrap(),
        std::fs::read_to_string(&json_path).unwrap(),
    );
    let new = ciphertexts_anywhere(&yaml_after)
        .into_iter()
        .chain(ciphertexts_anywhere(&json_after))
        .collect::<Vec<_>>();
    assert_eq!(new.len(), 2, "{yaml_after}{json_after}");
    assert!(new.iter().all(|c| c.starts_with("vault:v2:")), "{new:?}");
    assert_eq!(
        yaml_after,
        yaml.replace(&password, &new[0]),
        "only the ciphertext changed"
    );
    assert_eq!(
        json_after,
        json.replace(&api, &new[1]),
        "only the ciphertext changed"
    );
    let loaded = YamlJson::loader()
        .env_vars(vars.iter().copied())
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.db.password.expose_secret(), DB_PASSWORD);
    assert_eq!(loaded.payments.api_key.expose_secret(), API_KEY);

    // JSON may escape `/` as `\/`: the value is the same, the text is not; said, not guessed.
    let escaped = json.replace(&api, &api.replace('/', "\\/"));
    assert_ne!(
        escaped, json,
        "the example's API key ciphertext holds a `/`"
    );
    std::fs::write(&json_path, &escaped).unwrap();
    std::fs::write(&yaml_path, &yaml).unwrap();
    let (code, out) = run(&["rewrap"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("{json_path}: payments.api_key is not written as one piece of text (escaped or folded): rewrap it by hand")),
        "{out}"
    );
    assert!(
        out.contains("db.password v1 -> v2"),
        "the YAML one is rewrapped: {out}"
    );
    assert_eq!(std::fs::read_to_string(&json_path).unwrap(), escaped);
    let _ = std::fs::remove_file(&yaml_path);
    let _ = std::fs::remove_file(&json_path);
}

/// Every transit ciphertext in `text`, whatever the syntax around it.
#[cfg(feature = "cli")]
fn ciphertexts_anywhere(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"')
        .filter(|w| vault_config_core::transit::version(w).is_some())
        .map(str::to_owned)
        .collect()
}
