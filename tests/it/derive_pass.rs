//! Derives that must compile and work as written. (They were trybuild "pass" cases; one pass
//! case makes trybuild build every dependency instead of checking it, which doubled the
//! compile-fail suite's time.)

/// The contract compiles as written, and loading needs no trait import beyond it.
mod contract {
    use vault_config::{ExposeSecret, SecretString, VaultConfig};

    fn nonzero_port(port: &u16) -> Result<(), String> {
        if *port == 0 {
            Err("port must not be 0".into())
        } else {
            Ok(())
        }
    }

    #[derive(Debug, VaultConfig)]
    struct RedisSettings {
        #[config(default = "redis://localhost:6379")]
        url: String,
    }

    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "APP_", vault(mount = "secret", path = "myapp/{profile}"))]
    struct Settings {
        /// Port the HTTP server binds.
        #[config(default = 8080, validate = nonzero_port)]
        port: u16,
        /// Primary database.
        #[config(secret, vault(path = "database", key = "url"))]
        database_url: SecretString,
        /// Broker login; older entries store it as `username`.
        #[config(secret, vault(path = "ibkr/vertical_spreads", key = "IB_USER", aliases = ["username"]))]
        ib_user: SecretString,
        #[config(env = "LOG_LEVEL", default = "info")]
        log_level: String,
        #[config(nested)]
        redis: RedisSettings,
        timeout_ms: Option<u64>,
    }

    #[test]
    fn compiles_and_works() {
        let s = Settings::loader()
            .env_vars([("APP_DATABASE_URL", "a"), ("APP_IB_USER", "b")])
            .load()
            .unwrap();
        assert_eq!(s.database_url.expose_secret(), "a");
        let _ = (s.port, s.ib_user, s.log_level, s.redis.url, s.timeout_ms);
    }
}

/// Files and `.env` declared on the struct land in the schema.
mod files_and_dotenv {
    use vault_config::{SecretString, VaultConfig};

    #[allow(dead_code, reason = "only the schema is checked")]
    #[derive(Debug, VaultConfig)]
    #[config(
        env_prefix = "APP_",
        vault(path = "myapp/{profile}"),
        files = ["config/default.toml", "required:config/{profile}.yaml", "config/local.json"],
        dotenv = ".env",
        allow_unknown
    )]
    struct Settings {
        #[config(default = 8080)]
        port: u16,
        #[config(secret)]
        api_key: SecretString,
    }

    #[test]
    fn compiles_and_works() {
        let schema = Settings::schema();
        assert_eq!(schema.files.len(), 3);
        assert!(schema.files[1].required);
        assert_eq!(schema.dotenv.as_deref(), Some(".env"));
    }
}

/// Leased credentials: secret and required, their path in the schema.
mod leased {
    use vault_config::{SecretString, VaultConfig};

    #[derive(Debug, serde::Deserialize)]
    struct DbCreds {
        username: String,
        password: SecretString,
    }

    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "APP_")]
    struct Settings {
        #[config(lease = "database/creds/app-{profile}")]
        db: DbCreds,
        #[config(lease = "rabbitmq/creds/app")]
        queue: Option<DbCreds>,
    }

    #[test]
    fn compiles_and_works() {
        let schema = Settings::schema();
        let db = schema.field("db").unwrap();
        assert!(db.secret && db.required);
        assert_eq!(
            db.vault.as_ref().unwrap().to_string(),
            "database/creds/app-{profile}"
        );
        assert_eq!(
            schema.vault_paths("prod")[0].to_string(),
            "database/creds/app-prod"
        );
        let _ = (Settings::load, fields);
    }

    fn fields(s: &Settings) -> (&str, &SecretString, Option<&DbCreds>) {
        (&s.db.username, &s.db.password, s.queue.as_ref())
    }
}

/// Containers of secrets (`Vec`, `HashMap`, an alias) are secret; team env names land in the schema.
mod secret_containers {
    use std::collections::HashMap;

    use vault_config::{SecretString, VaultConfig};

    type ApiKey = SecretString;

    #[derive(VaultConfig)]
    #[allow(dead_code, reason = "only the schema is checked")]
    #[config(vault(env(VAULT_ADDR = "VAULT_URL", VAULT_BASE_PATH = "VAULT_SECRET_PATH")))]
    struct Settings {
        api_keys: Vec<SecretString>,
        webhooks: Option<HashMap<String, SecretString>>,
        #[config(secret)]
        aliased: ApiKey,
    }

    #[test]
    fn compiles_and_works() {
        let schema = Settings::schema();
        assert!(schema.fields.iter().all(|f| f.secret));
        assert_eq!(schema.vault_env.len(), 2);
    }
}
