//! Profile names: the one rule for what a profile may be, wherever it enters (`PREFIX_PROFILE`,
//! `Loader::profile`, the command line's `--profile` and `--profiles`).

/// The placeholder in a Vault path replaced by the active profile.
pub const PROFILE_PLACEHOLDER: &str = "{profile}";

/// The profile used when none is chosen.
pub const DEFAULT_PROFILE: &str = "default";

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
    text.replace(PROFILE_PLACEHOLDER, profile)
}

/// The active profile of a load: the one code chose, else the struct's `{PREFIX}PROFILE` in
/// `env`, else `default`; validated by [`validate`]. On `Err`, the load reports why and goes on
/// with `default`.
///
/// ```
/// use vault_config_core::{EnvSnapshot, profile};
/// let env = EnvSnapshot::from_iter([("APP_PROFILE", "staging")]);
/// assert_eq!(profile::choose(None, &env, "APP_PROFILE").unwrap(), "staging");
/// assert_eq!(profile::choose(Some("prod"), &env, "APP_PROFILE").unwrap(), "prod");
/// assert_eq!(profile::choose(None, &EnvSnapshot::default(), "APP_PROFILE").unwrap(), "default");
/// assert!(profile::choose(Some("a/b"), &env, "APP_PROFILE").is_err());
/// ```
pub fn choose(
    chosen: Option<&str>,
    env: &crate::EnvSnapshot,
    var: &str,
) -> Result<String, &'static str> {
    match chosen.map(Ok).or_else(|| env.get(var)) {
        None => Ok(DEFAULT_PROFILE.to_owned()),
        Some(Err(_)) => Err("profile is not valid UTF-8"),
        Some(Ok(p)) => validate(p).map(|()| p.to_owned()),
    }
}
