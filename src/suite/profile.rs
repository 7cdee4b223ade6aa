//! The target profile: what the suite needs to know about a server under test (one TOML file, or
//! a bare URL). See README.md, "Target profiles", and `fixtures/targets/reference.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::protocol::PublicKey;

/// A profile that cannot be used: the run stops with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProfileError(pub String);

/// What the suite knows about a target.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The server's base URL; the suite appends `/api/v4/activate_offline`.
    pub base_url: String,
    /// The API key and its shared key.
    pub credentials: Option<Credentials>,
    /// A product short code the server knows.
    pub product: Option<String>,
    /// A second product, for cross-product refusal.
    pub other_product: Option<String>,
    /// The key that verifies `license_signature` and `license_signature_v2`.
    pub public_key: Option<PublicKey>,
    /// Whether the suite may (and so must) give seats back with `deactivate_offline`.
    pub supports_deactivation: bool,
    /// The server's body cap in bytes (default 64 KiB, SPEC §3).
    pub max_body: usize,
    /// License keys by role (`perpetual`, `trial`, …).
    pub licenses: BTreeMap<String, String>,
    /// The limited license for the seat race: its key and free seats.
    pub limited: Option<(String, usize)>,
    /// A user-based license: username and password.
    pub user: Option<(String, Option<String>)>,
    /// Certificates (PEM) trusted for an `https://` target besides the system's roots: the CA of
    /// a server with a private or self-signed certificate.
    pub tls_ca: Option<String>,
}

/// An API key and its shared key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The API key.
    pub api_key: String,
    /// Its shared key.
    pub shared_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    base_url: String,
    api_key: Option<String>,
    shared_key: Option<String>,
    product: Option<String>,
    other_product: Option<String>,
    public_key: Option<String>,
    #[serde(default)]
    supports_deactivation: bool,
    max_body: Option<usize>,
    tls_ca: Option<String>,
    #[serde(default)]
    licenses: BTreeMap<String, LicenseEntry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LicenseEntry {
    Key(String),
    Limited {
        key: String,
        free_seats: usize,
    },
    User {
        username: String,
        password: Option<String>,
    },
}

/// The license roles a profile may name.
pub const ROLES: &[&str] = &[
    "perpetual",
    "trial",
    "consumption",
    "unsupported",
    "disabled",
    "inactive",
    "expired",
    "trial_expired",
    "exhausted",
    "other_product",
    "limited",
    "user",
    "odd_key",
];

impl Profile {
    /// A profile with only a base URL: cases that need credentials are skipped.
    pub fn bare(base_url: impl Into<String>) -> Profile {
        Profile {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            credentials: None,
            product: None,
            other_product: None,
            public_key: None,
            supports_deactivation: false,
            max_body: crate::server::DEFAULT_MAX_BODY,
            licenses: BTreeMap::new(),
            limited: None,
            user: None,
            tls_ca: None,
        }
    }

    /// Reads a profile file; paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProfileError(format!("cannot read {}: {e}", path.display())))?;
        Profile::from_toml(&text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|ProfileError(e)| ProfileError(format!("{}: {e}", path.display())))
    }

    /// Reads a profile from TOML text; `public_key` and `tls_ca` paths are relative to `base`.
    ///
    /// ```
    /// use std::path::Path;
    /// use lsconform::suite::Profile;
    /// let p = Profile::from_toml("base_url = \"http://127.0.0.1:8080\"\nmax_body = 20000", Path::new(".")).unwrap();
    /// assert_eq!(p.max_body, 20000);
    /// // SPEC §3: a body cap is never below 16 KiB.
    /// let e = Profile::from_toml("base_url = \"http://127.0.0.1:8080\"\nmax_body = 1024", Path::new(".")).unwrap_err();
    /// assert!(e.0.contains("below the floor"), "{e}");
    /// ```
    pub fn from_toml(text: &str, base: &Path) -> Result<Profile, ProfileError> {
        Profile::parse(text, |p| {
            let path = base.join(p);
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        })
    }

    fn parse(text: &str, read_key: impl Fn(&str) -> Result<String, String>) -> Result<Profile, ProfileError> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| ProfileError(e.to_string()))?;
        let credentials = match (file.api_key, file.shared_key) {
            (Some(api_key), Some(shared_key)) => Some(Credentials { api_key, shared_key }),
            (None, None) => None,
            _ => {
                return Err(ProfileError(
                    "give both api_key and shared_key, or neither".into(),
                ))
            }
        };
        let public_key = match file.public_key {
            Some(p) => {
                let pem = read_key(&p).map_err(|e| ProfileError(format!("public_key: {e}")))?;
                Some(PublicKey::from_pem(&pem).map_err(|e| ProfileError(format!("public_key: {e}")))?)
            }
            None => None,
        };
        let tls_ca = match file.tls_ca {
            Some(p) => {
                let pem = read_key(&p).map_err(|e| ProfileError(format!("tls_ca: {e}")))?;
                match reqwest::Certificate::from_pem_bundle(pem.as_bytes()) {
                    Ok(certs) if !certs.is_empty() => Some(pem),
                    Ok(_) => return Err(ProfileError(format!("tls_ca: no certificate in {p}"))),
                    Err(e) => return Err(ProfileError(format!("tls_ca: {p}: {e}"))),
                }
            }
            None => None,
        };
        let mut profile = Profile::bare(file.base_url);
        profile.tls_ca = tls_ca;
        if !(profile.base_url.starts_with("http://") || profile.base_url.starts_with("https://")) {
            return Err(ProfileError(format!(
                "base_url {:?} is not an http(s) URL",
                profile.base_url
            )));
        }
        profile.credentials = credentials;
        profile.product = file.product;
        profile.other_product = file.other_product;
        profile.public_key = public_key;
        profile.supports_deactivation = file.supports_deactivation;
        profile.max_body = file.max_body.unwrap_or(profile.max_body);
        if profile.max_body < crate::protocol::MIN_BODY_CAP {
            return Err(ProfileError(format!(
                "max_body {} is below the floor of SPEC §3 ({} bytes): a server must read request files that large",
                profile.max_body,
                crate::protocol::MIN_BODY_CAP
            )));
        }
        for (role, entry) in file.licenses {
            if !ROLES.contains(&role.as_str()) {
                return Err(ProfileError(format!(
                    "unknown license role {role:?}; roles: {}",
                    ROLES.join(", ")
                )));
            }
            match (role.as_str(), entry) {
                ("limited", LicenseEntry::Limited { key, free_seats }) => {
                    profile.limited = Some((key, free_seats))
                }
                ("limited", _) => {
                    return Err(ProfileError("limited = { key = \"…\", free_seats = N }".into()))
                }
                ("user", LicenseEntry::User { username, password }) => {
                    profile.user = Some((username, password))
                }
                ("user", _) => {
                    return Err(ProfileError(
                        "user = { username = \"…\", password = \"…\" }".into(),
                    ))
                }
                (_, LicenseEntry::Key(key)) => {
                    profile.licenses.insert(role, key);
                }
                (role, _) => {
                    return Err(ProfileError(format!(
                        "licenses.{role} is a license key (a string)"
                    )))
                }
            }
        }
        Ok(profile)
    }

    /// The license key of a role, the limited license's key for `limited`.
    pub fn license(&self, role: &str) -> Option<&str> {
        match role {
            "limited" => self.limited.as_ref().map(|(k, _)| k.as_str()),
            "user" => self.user.as_ref().map(|(u, _)| u.as_str()),
            _ => self.licenses.get(role).map(String::as_str),
        }
    }

    /// The same profile pointing at another base URL.
    pub fn at(mut self, base_url: impl Into<String>) -> Profile {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The profile of the reference server's seed (`fixtures/targets/reference.toml`) at a URL.
    pub fn reference(base_url: impl Into<String>) -> Profile {
        Profile::parse(REFERENCE_PROFILE, |_| Ok(REFERENCE_PUBLIC_KEY.to_owned()))
            .unwrap_or_else(|e| panic!("the shipped reference profile is valid: {e}"))
            .at(base_url)
    }
}

const REFERENCE_PROFILE: &str = include_str!("../../fixtures/targets/reference.toml");
const REFERENCE_PUBLIC_KEY: &str = include_str!("../../fixtures/keys/reference-public.pem");
