//! Profile names: the one rule for what a profile may be, wherever it enters (`PREFIX_PROFILE`,
//! `Loader::profile`, the command line's `--profile` and `--profiles`).

/// What a profile may be: non-empty, only ASCII letters, digits, `-`, `_` and `.`, and not
/// `.` or `..`. So a profile substituted into a Vault path can never climb out of it, grant a
/// wildcard (`*`, `+`) in a generated policy, or break out of its quotes.
///
/// ```
/// use vault_config_core::profile;
/// assert!(profile::validate("staging-eu.1").is_ok());
/// for bad in ["", "..", "a/b", "*", "x\"y", "prod+"] {
///     assert!(profile::validate(bad).is_err(), "{bad}");
/// }
/// ```
pub fn validate(profile: &str) -> Result<(), &'static str> {
    let ok = !profile.is_empty()
        && profile != "."
        && profile != ".."
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("profile must be non-empty and use only letters, digits, `-`, `_` and `.`")
    }
}

/// `text` with every `{profile}` replaced by `profile`: Vault paths and config file paths.
///
/// ```
/// use vault_config_core::profile;
/// assert_eq!(profile::substitute("config/{profile}.toml", "prod"), "config/prod.toml");
/// ```
pub fn substitute(text: &str, profile: &str) -> String {
    text.replace(crate::schema::PROFILE_PLACEHOLDER, profile)
}
