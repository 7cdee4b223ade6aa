//! The double's TOML configuration, and `lsconform mock`: the same double, standalone on a port.
//!
//! The format is the reference server's seed format (`src/server/seed.rs`: `api_keys`, `products`,
//! `licenses`), so a seed file is a configuration too, plus `journal_cap`, `private_key` and
//! `faults`. `fixtures/double/example.toml` shows every key.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::{ActivationDouble, ActivationDoubleBuilder, Fault, License, Requests, Times};
use crate::protocol::{ErrorCode, KeyError, SigningKey};

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not TOML of the configuration's shape.
    #[error("the configuration is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    /// Valid TOML, unusable values.
    #[error("the configuration is not valid: {0}")]
    Invalid(String),
    /// The private key file.
    #[error("the private key {path}: {reason}")]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    journal_cap: Option<usize>,
    private_key: Option<PathBuf>,
    #[serde(default)]
    api_keys: Vec<ApiKeyEntry>,
    #[serde(default)]
    products: Vec<ProductEntry>,
    #[serde(default)]
    licenses: Vec<LicenseEntry>,
    #[serde(default)]
    faults: Vec<FaultEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyEntry {
    api_key: String,
    shared_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    short_code: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LicenseEntry {
    /// Documentation only (the seed format's roles).
    #[allow(dead_code)]
    role: Option<String>,
    product: Option<String>,
    license_key: Option<String>,
    username: Option<String>,
    /// Not checked (as in the reference server); accepted so that seed files load.
    #[allow(dead_code)]
    password: Option<String>,
    #[serde(rename = "type")]
    license_type: Option<String>,
    #[serde(default)]
    trial: bool,
    enabled: Option<bool>,
    active: Option<bool>,
    valid_until: Option<String>,
    max_activations: Option<u64>,
    #[serde(default)]
    activated_on: Vec<String>,
}

/// A fault, as the configuration's `[[faults]]` and the admin API's `POST /__lsconform/faults`
/// write it: what to answer, how many times, and which requests (`endpoint`, `license_key`,
/// `username`, `hardware_id`: the [`Requests`] filter).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultEntry {
    answer: String,
    code: Option<String>,
    status: Option<u16>,
    delay_ms: Option<u64>,
    times: Option<u64>,
    endpoint: Option<String>,
    license_key: Option<String>,
    username: Option<String>,
    hardware_id: Option<String>,
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(message)
}

impl LicenseEntry {
    fn license(self) -> Result<License, ConfigError> {
        let mut license = match (self.license_key, self.username) {
            (Some(key), None) => License::of_type(key, self.license_type.as_deref().unwrap_or("perpetual")),
            (None, Some(username)) => {
                let mut l = License::user(username);
                if let Some(t) = &self.license_type {
                    l.license_type = t.clone();
                }
                l
            }
            _ => {
                return Err(invalid(
                    "a license needs exactly one of license_key and username".into(),
                ))
            }
        };
        let who = license.name().to_owned();
        if let Some(product) = self.product {
            license = license.product(product);
        }
        license = license.seats(self.max_activations.unwrap_or(1));
        if self.trial {
            license = license.trial();
        }
        if self.enabled == Some(false) {
            license = license.disabled();
        }
        if self.active == Some(false) {
            license = license.inactive();
        }
        if let Some(end) = &self.valid_until {
            let end = time::OffsetDateTime::parse(end, &time::format_description::well_known::Rfc3339)
                .map_err(|e| invalid(format!("license {who}: valid_until {end:?}: {e}")))?;
            license = license.valid_until(SystemTime::from(end));
        }
        if self.activated_on.len() as u64 > license.seats {
            return Err(invalid(format!(
                "license {who}: more devices in activated_on than max_activations"
            )));
        }
        for device in self.activated_on {
            license = license.activated_on(device);
        }
        Ok(license)
    }
}

impl FaultEntry {
    pub(crate) fn fault(self) -> Result<Fault, ConfigError> {
        let what = self.answer.as_str();
        let mut fault = match what {
            "error" => {
                let code = self
                    .code
                    .as_deref()
                    .ok_or_else(|| invalid("a fault with answer = \"error\" needs code".into()))?;
                let code = ErrorCode::from_code(code)
                    .ok_or_else(|| invalid(format!("fault: unknown error code {code:?}")))?;
                Fault::error(code)
            }
            "status" => {
                let status = self
                    .status
                    .ok_or_else(|| invalid("a fault with answer = \"status\" needs status".into()))?;
                if !(100..=999).contains(&status) {
                    return Err(invalid(format!("fault: status {status} is not an HTTP status")));
                }
                Fault::status(status)
            }
            "delay" => {
                let ms = self
                    .delay_ms
                    .ok_or_else(|| invalid("a fault with answer = \"delay\" needs delay_ms".into()))?;
                Fault::delay(Duration::from_millis(ms))
            }
            "not-json" => Fault::not_json(),
            "truncated" => Fault::truncated(),
            "bad-license-signature-v2" => Fault::bad_license_signature_v2(),
            other => {
                return Err(invalid(format!(
                    "fault: unknown answer {other:?}; expected error, status, delay, not-json, truncated \
                     or bad-license-signature-v2"
                )))
            }
        };
        let when = requests(
            "fault",
            self.endpoint,
            self.license_key,
            self.username,
            self.hardware_id,
        )?;
        fault = fault.times(self.times.unwrap_or(1)).when(when);
        Ok(fault)
    }
}

/// The [`Requests`] filter of a fault or an expectation, from its `endpoint` (`activation` or
/// `deactivation`; absent: both) and the fields its request file must name.
fn requests(
    what: &str,
    endpoint: Option<String>,
    license_key: Option<String>,
    username: Option<String>,
    hardware_id: Option<String>,
) -> Result<Requests, ConfigError> {
    let mut when = match endpoint.as_deref() {
        None => Requests::any(),
        Some("activation") => Requests::activations(),
        Some("deactivation") => Requests::deactivations(),
        Some(other) => {
            return Err(invalid(format!(
                "{what}: endpoint {other:?}; expected activation or deactivation"
            )))
        }
    };
    if let Some(k) = license_key {
        when = when.license_key(k);
    }
    if let Some(u) = username {
        when = when.username(u);
    }
    if let Some(h) = hardware_id {
        when = when.hardware_id(h);
    }
    Ok(when)
}

/// An expectation, as the admin API's `POST /__lsconform/expectations` writes it: the
/// [`Requests`] filter (as a fault's) and `times`, a count or `{"min": a, "max": b}` (either
/// bound may be left out).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectationEntry {
    times: TimesEntry,
    endpoint: Option<String>,
    license_key: Option<String>,
    username: Option<String>,
    hardware_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimesEntry {
    Exactly(u64),
    Range { min: Option<u64>, max: Option<u64> },
}

impl ExpectationEntry {
    pub(crate) fn expectation(self) -> Result<(Requests, Times), ConfigError> {
        let times = match self.times {
            TimesEntry::Exactly(n) => Times::from(n),
            TimesEntry::Range { min, max } => match (min, max) {
                (Some(min), Some(max)) => Times::from(min..=max),
                (Some(min), None) => Times::from(min..),
                (None, Some(max)) => Times::from(..=max),
                (None, None) => Times::from(..),
            },
        };
        let requests = requests(
            "expectation",
            self.endpoint,
            self.license_key,
            self.username,
            self.hardware_id,
        )?;
        Ok((requests, times))
    }
}

impl ActivationDoubleBuilder {
    /// A builder configured by a TOML text: the reference server's seed format (`api_keys`,
    /// `products`, `licenses`, where `max_activations` is the seats) plus `journal_cap`,
    /// `private_key` (a PEM file, relative to the current directory) and `faults`. See
    /// `fixtures/double/example.toml` for every key.
    ///
    /// ```
    /// use lsconform::double::ActivationDoubleBuilder;
    /// let builder = ActivationDoubleBuilder::from_toml(r#"
    ///     journal_cap = 100
    ///
    ///     [[api_keys]]
    ///     api_key = "my-api-key"
    ///     shared_key = "my-shared-key"
    ///
    ///     [[licenses]]
    ///     license_key = "AAAA-BBBB-CCCC-DDDD"
    ///     max_activations = 2
    ///
    ///     [[faults]]
    ///     answer = "status"
    ///     status = 503
    ///     times = 2
    /// "#).unwrap();
    /// // The reference server's seed is a configuration too.
    /// ActivationDoubleBuilder::from_toml(lsconform::server::REFERENCE_SEED).unwrap();
    /// ```
    pub fn from_toml(text: &str) -> Result<ActivationDoubleBuilder, ConfigError> {
        from_toml_in(text, None)
    }
}

/// Reads a configuration; a relative `private_key` is found in `base` (the config file's
/// directory) when given.
fn from_toml_in(text: &str, base: Option<&Path>) -> Result<ActivationDoubleBuilder, ConfigError> {
    let file: ConfigFile = toml::from_str(text)?;
    let mut builder = ActivationDouble::builder();
    for k in file.api_keys {
        builder = builder.api_key(k.api_key, k.shared_key);
    }
    for p in file.products {
        builder = builder.product(p.short_code, p.name);
    }
    for l in file.licenses {
        builder = builder.license(l.license()?);
    }
    for f in file.faults {
        builder = builder.fault(f.fault()?);
    }
    if let Some(cap) = file.journal_cap {
        builder = builder.journal_cap(cap);
    }
    if let Some(path) = file.private_key {
        let path = match base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path,
        };
        let key_error = |reason: String| ConfigError::PrivateKey {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read_to_string(&path).map_err(|e| key_error(e.to_string()))?;
        let key = SigningKey::from_pem(&pem).map_err(|e: KeyError| key_error(e.to_string()))?;
        builder = builder.signing_key(key);
    }
    Ok(builder)
}

/// Why `lsconform mock` could not run.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// The configuration file.
    #[error("{path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// `lsconform mock`: runs a double on `listen` until `shutdown` completes, configured by the TOML
/// file `config` (default: the reference seed's credentials and licenses, `REFERENCE_SEED`),
/// logging one line per request on stderr (never a key or a signature). With `admin`, the admin
/// API answers under [`ADMIN_PREFIX`](super::ADMIN_PREFIX) (README: "The double's admin API").
pub fn run_standalone(
    listen: SocketAddr,
    config: Option<&Path>,
    admin: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StandaloneError> {
    let builder = match config {
        None => ActivationDoubleBuilder::from_toml(crate::server::REFERENCE_SEED).map_err(|e| {
            StandaloneError::Config {
                path: "the reference seed".into(),
                reason: e.to_string(),
            }
        })?,
        Some(path) => {
            let fail = |reason: String| StandaloneError::Config {
                path: path.to_owned(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            from_toml_in(&text, path.parent()).map_err(|e| fail(e.to_string()))?
        }
    };
    let test_key = builder.signing_key.is_none();
    let summary = format!(
        "{} API key(s), {} license(s), {} fault(s), journal cap {}",
        builder.api_keys.len(),
        builder.licenses.len(),
        builder.faults.len(),
        builder.journal_cap
    );
    let mut builder = builder.log(|entry| eprintln!("{entry}"));
    if admin {
        builder = builder.admin_api();
    }
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|source| StandaloneError::Listen { addr: listen, source })?;
    let runtime = tokio::runtime::Runtime::new().map_err(StandaloneError::Runtime)?;
    runtime.block_on(async {
        let double = builder.start_on(listener).await;
        eprintln!("lsconform mock: listening on {} ({summary})", double.uri());
        if admin {
            eprintln!(
                "lsconform mock: admin API on {}{} (journal, faults, expectations, reset)",
                double.uri(),
                super::ADMIN_PREFIX
            );
        }
        if test_key {
            eprintln!(
                "lsconform mock: signing with the public TEST key of fixtures/keys: never pin it in a real client"
            );
        }
        shutdown.await;
        eprintln!("lsconform mock: stopped after {} request(s)", double.received());
    });
    Ok(())
}
