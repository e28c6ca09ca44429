//! Shared by the fuzz target `agent_file` and tests/properties.rs. Any file name and text
//! as a Vault Agent injected file: pairs with valid env names, or the number of a line that
//! exists; never a panic.

/// The property, for one input: byte 0 is the name's length, then the name, then the text.
pub fn check(data: &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(n).min(rest.len());
    let name = String::from_utf8_lossy(&rest[..split]);
    // read_dir rejects a file that is not UTF-8 before parsing it.
    let Ok(text) = std::str::from_utf8(&rest[split..]) else {
        return;
    };
    match vault_config_vault::agent::parse(&name, text) {
        Ok(pairs) => {
            for (key, _) in &pairs {
                // A key is the file's name in upper case (one value) or an env name from a
                // line.
                let env_name = !key.is_empty()
                    && !key.starts_with(|c: char| c.is_ascii_digit())
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                assert!(
                    *key == name.to_ascii_uppercase() || env_name,
                    "a key that is neither the name nor valid"
                );
            }
        }
        Err(line) => assert!(line >= 1 && line <= text.lines().count()),
    }
}
