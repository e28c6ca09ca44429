//! Shared by the fuzz target `dotenv_file` and tests/properties.rs. Any text as a `.env` file:
//! variables with valid names, or the number of a line that exists; never a panic.

use vault_config::EnvSnapshot;

/// The property, for one input.
pub fn check(data: &[u8]) {
    // A `.env` file that is not UTF-8 is refused before it is parsed.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = EnvSnapshot::from_iter([("HOME", "/home/app")]);
    match vault_config::__private::parse_dotenv(text, &env) {
        Ok(vars) => {
            for (key, _) in &vars {
                let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
                assert!(valid, "a key that is not a valid name");
            }
        }
        // The line an entry starts on: the text has at least that many lines.
        Err(line) => assert!(line >= 1 && line <= text.split('\n').count()),
    }
}
