use vault_config::VaultConfig;
use vault_config::pki::Certificate;

#[derive(VaultConfig)]
struct Settings {
    #[config(pki = "pki/issue/internal")]
    no_common_name: Certificate,
    #[config(pki = "pki/internal", common_name = "api.internal")]
    no_role: Certificate,
    #[config(pki = "pki/issue/internal", common_name = "api.internal", ttl = "soon")]
    bad_ttl: Certificate,
    #[config(pki = "pki/issue/internal", common_name = "api.internal", default)]
    with_default: Certificate,
    #[config(common_name = "api.internal")]
    term_without_pki: Certificate,
}

fn main() {}
