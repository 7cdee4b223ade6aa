//! The seed file: the demo data a fresh reference database starts with (TOML).
//!
//! ```toml
//! [[api_keys]]
//! api_key = "…"
//! shared_key = "…"
//!
//! [[products]]
//! short_code = "TP"
//! name = "Test Product"
//!
//! [[licenses]]
//! role = "limited"              # what the license is for (documentation; target profiles use it)
//! product = "TP"
//! license_key = "…"             # or: username = "…", password = "…"
//! type = "perpetual"            # perpetual, consumption, subscription, time-limited, …
//! trial = false
//! enabled = true
//! active = true
//! valid_until = "2099-12-31T00:00:00Z"   # optional, RFC 3339
//! max_activations = 3
//! activated_on = ["hw-1"]       # devices already holding a seat
//! ```

use std::time::SystemTime;

use serde::Deserialize;

/// The seed data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// API keys and their shared keys.
    #[serde(default)]
    pub api_keys: Vec<SeedApiKey>,
    /// Products.
    #[serde(default)]
    pub products: Vec<SeedProduct>,
    /// Licenses.
    #[serde(default)]
    pub licenses: Vec<SeedLicense>,
}

/// An API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApiKey {
    /// The API key.
    pub api_key: String,
    /// Its shared key.
    pub shared_key: String,
}

/// A product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedProduct {
    /// The short code requests name it by.
    pub short_code: String,
    /// Its name.
    pub name: String,
}

/// A license.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLicense {
    /// What the license is for, e.g. `limited` (documentation only).
    #[serde(default)]
    pub role: Option<String>,
    /// The product's short code.
    pub product: String,
    /// The key, for key-based licenses.
    #[serde(default)]
    pub license_key: Option<String>,
    /// The user, for user-based licenses.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's password.
    #[serde(default)]
    pub password: Option<String>,
    /// `perpetual`, `consumption`, `subscription`, `time-limited`, ….
    #[serde(rename = "type")]
    pub license_type: String,
    /// A trial.
    #[serde(default)]
    pub trial: bool,
    /// Enabled.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Active.
    #[serde(default = "yes")]
    pub active: bool,
    /// The end of validity, RFC 3339.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// Seats.
    pub max_activations: u32,
    /// Devices already holding a seat.
    #[serde(default)]
    pub activated_on: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A seed file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Not TOML of the seed's shape.
    #[error("the seed is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// Valid TOML, inconsistent data.
    #[error("the seed is not valid: {0}")]
    Invalid(String),
}

/// The reference seed shipped in `fixtures/reference-seed.toml` (test-only credentials).
pub const REFERENCE_SEED: &str = include_str!("../../fixtures/reference-seed.toml");

impl Seed {
    /// Reads and checks a seed.
    pub fn from_toml(text: &str) -> Result<Seed, SeedError> {
        let seed: Seed = toml::from_str(text)?;
        for l in &seed.licenses {
            let who = l.license_key.as_deref().or(l.username.as_deref()).unwrap_or("?");
            if l.license_key.is_some() == l.username.is_some() {
                return Err(SeedError::Invalid(format!(
                    "license {who}: give exactly one of license_key and username"
                )));
            }
            if !seed.products.iter().any(|p| p.short_code == l.product) {
                return Err(SeedError::Invalid(format!(
                    "license {who}: unknown product {:?}",
                    l.product
                )));
            }
            if let Some(v) = &l.valid_until {
                parse_time(v).map_err(|e| SeedError::Invalid(format!("license {who}: valid_until: {e}")))?;
            }
            if l.activated_on.len() > l.max_activations as usize {
                return Err(SeedError::Invalid(format!(
                    "license {who}: more devices in activated_on than max_activations"
                )));
            }
        }
        Ok(seed)
    }

    /// The reference seed.
    pub fn reference() -> Seed {
        Seed::from_toml(REFERENCE_SEED).expect("the shipped seed is valid")
    }
}

/// Reads an RFC 3339 time.
pub(crate) fn parse_time(text: &str) -> Result<SystemTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| e.to_string())
}
