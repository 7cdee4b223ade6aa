//! A programmable fake of `POST /api/v4/activate_offline` (and `deactivate_offline`) for testing
//! clients, built on [`wiremock`].
//!
//! The double answers like the reference server: every check of SPEC §1a–§4 goes through
//! [`protocol`](crate::protocol) (the same Authorization rules, Base64 and JSON rules, signatures
//! and error bodies), then the business rules of SPEC §5 on the licenses it was given, with seats
//! counted, and a success answer signed like SPEC §6 says (all three signatures). On top of that a
//! test can script faults, read a journal of what its client sent, and set expectations that are
//! checked when the double is dropped.
//!
//! ```no_run
//! use lsconform::double::{ActivationDouble, Fault, License, Requests};
//! use lsconform::protocol::ErrorCode;
//!
//! # async fn demo() {
//! let double = ActivationDouble::builder()
//!     .api_key("my-api-key", "my-shared-key")
//!     .license(License::perpetual("AAAA-BBBB-CCCC-DDDD").seats(2))
//!     .start()
//!     .await;
//! // The client under test talks to double.uri() instead of LicenseSpring.
//! let base_url = double.uri();
//!
//! // The next request for this license is refused as if it had been disabled.
//! double.fault(
//!     Fault::error(ErrorCode::LicenseNotEnabled).when(Requests::any().license_key("AAAA-BBBB-CCCC-DDDD")),
//! );
//! // When `double` is dropped: the client must have sent exactly two activation requests.
//! double.expect(Requests::activations(), 2);
//! # }
//! ```
//!
//! Memory stays flat however long the double runs: the [journal](ActivationDouble::journal) keeps
//! the last [`journal_cap`](ActivationDoubleBuilder::journal_cap) requests (oldest dropped first),
//! wiremock's own request recording is off, and the copy of every matched request that a wiremock
//! mock keeps is dropped regularly by remounting the double's mock (see `respond.rs`).
//!
//! `lsconform mock` runs the same double on a port for clients in other languages, configured by a
//! TOML file ([`ActivationDoubleBuilder::from_toml`]); with `--admin`, their tests read its journal,
//! script faults, verify expectations and reset it over HTTP, under [`ADMIN_PREFIX`].
//!
//! Where it differs from the reference server (`tests/double/parity.rs` checks the rest):
//! - it keeps its state in memory: nothing survives the double (SPEC §5.6 is out of its scope),
//!   and a replayed request id is recognised among the last 1000 handled (SPEC §5.5);
//! - wiremock reads a whole body before the double sees it: an oversized body gets the same 413
//!   `payload_too_large`, but only once it has been received;
//! - wiremock resolves dot segments in the path (`/api/v4/./activate_offline` reaches the endpoint;
//!   the reference server answers 404). HTTP clients resolve them before sending anyway;
//! - requests are answered one at a time (wiremock holds a lock while a mock responds), so seats
//!   hold under concurrency trivially, and a slow answer ([`Fault::delay`]) waits outside that lock.

mod admin;
mod config;
mod expect;
mod fault;
mod journal;
mod model;
mod respond;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use wiremock::MockServer;

use crate::protocol::{PublicKey, SigningKey};

pub use admin::ADMIN_PREFIX;
pub use config::{run_standalone, ConfigError, StandaloneError};
pub use expect::{Requests, Times};
pub use fault::Fault;
pub use journal::JournalEntry;
pub use model::{License, DEFAULT_PRODUCT};

use expect::Expectation;
use journal::Journal;
use model::Model;
use respond::Shared;

/// How many requests the journal keeps unless told otherwise.
pub const DEFAULT_JOURNAL_CAP: usize = 1000;

/// Wiremock keeps a copy of every request a mounted mock matched; the double remounts its mock
/// after this many requests, which frees those copies.
const RECYCLE_EVERY: u64 = 1024;

/// A running double: a wiremock [`MockServer`] that answers the offline activation endpoints.
///
/// Dropping it stops the server and checks the [expectations](ActivationDouble::expect): a panic
/// lists the unmet ones and the requests received.
pub struct ActivationDouble {
    server: Arc<MockServer>,
    shared: Arc<Shared>,
}

/// Builds an [`ActivationDouble`]: `ActivationDouble::builder().api_key(k, s).license(l).start().await`.
pub struct ActivationDoubleBuilder {
    api_keys: HashMap<String, String>,
    products: Vec<(String, String)>,
    licenses: Vec<License>,
    faults: Vec<Fault>,
    expectations: Vec<Expectation>,
    journal_cap: usize,
    signing_key: Option<SigningKey>,
    listen: SocketAddr,
    recycle_every: u64,
    log: Option<respond::LogFn>,
    admin: bool,
}

impl std::fmt::Debug for ActivationDoubleBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationDoubleBuilder")
            .field("api_keys", &self.api_keys.keys().collect::<Vec<_>>())
            .field("products", &self.products)
            .field("licenses", &self.licenses)
            .field("faults", &self.faults)
            .field("journal_cap", &self.journal_cap)
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl ActivationDouble {
    /// A double on 127.0.0.1 on a free port, with no API key (every request is then refused,
    /// `invalid_api_key`: add one with [`api_key`](ActivationDoubleBuilder::api_key)), no license, a journal of
    /// [`DEFAULT_JOURNAL_CAP`] requests, answers signed with the test key of `fixtures/keys/`
    /// ([`TEST_PRIVATE_KEY`](crate::server::TEST_PRIVATE_KEY)).
    pub fn builder() -> ActivationDoubleBuilder {
        ActivationDoubleBuilder {
            api_keys: HashMap::new(),
            products: Vec::new(),
            licenses: Vec::new(),
            faults: Vec::new(),
            expectations: Vec::new(),
            journal_cap: DEFAULT_JOURNAL_CAP,
            signing_key: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            recycle_every: RECYCLE_EVERY,
            log: None,
            admin: false,
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`; the endpoints are
    /// `{uri}/api/v4/activate_offline` and `{uri}/api/v4/deactivate_offline`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    /// The public key that verifies its answers' `license_signature` and `license_signature_v2`:
    /// the one a client under test must pin.
    pub fn public_key(&self) -> PublicKey {
        self.shared.signing_key.public_key()
    }

    /// Scripts a fault: the next requests that match it (see [`Fault::times`] and
    /// [`Fault::when`]) get the fault's answer. Faults are tried in the order they were added.
    ///
    /// ```no_run
    /// # async fn demo(double: lsconform::double::ActivationDouble) {
    /// use lsconform::double::Fault;
    /// double.fault(Fault::status(503).times(2));
    /// # }
    /// ```
    pub fn fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Expects `times` requests that match `requests` between the start and the drop of the
    /// double (or the call to [`verify`](Self::verify)), like wiremock's `Mock::expect`.
    /// Requests are counted as they arrive, so the journal's cap does not affect the count.
    ///
    /// ```no_run
    /// # async fn demo(double: lsconform::double::ActivationDouble) {
    /// use lsconform::double::Requests;
    /// double.expect(Requests::activations().license_key("AAAA-BBBB-CCCC-DDDD"), 1);
    /// double.expect(Requests::deactivations(), 0);
    /// double.expect(Requests::any(), 1..=3);
    /// # }
    /// ```
    pub fn expect(&self, requests: Requests, times: impl Into<Times>) {
        self.shared.lock().add_expectation(requests, times.into());
    }

    /// The requests received, oldest first: at most the journal's cap, the oldest dropped first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.shared.lock().journal.entries()
    }

    /// How many requests the double has received since it started (the journal may keep fewer).
    pub fn received(&self) -> u64 {
        self.shared.lock().received
    }

    /// Checks the expectations now; panics with the unmet ones and the requests received.
    pub fn verify(&self) {
        if let Some(report) = self.shared.lock().unmet_expectations() {
            panic!("{report}");
        }
    }
}

impl Drop for ActivationDouble {
    fn drop(&mut self) {
        // Never panic while already panicking: that would abort and hide the first panic.
        if std::thread::panicking() {
            return;
        }
        self.verify();
    }
}

impl std::fmt::Debug for ActivationDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationDouble")
            .field("uri", &self.uri())
            .finish_non_exhaustive()
    }
}

impl ActivationDoubleBuilder {
    /// Accepts this API key, with the shared key that signs its headers and request files.
    /// Repeatable.
    pub fn api_key(mut self, api_key: impl Into<String>, shared_key: impl Into<String>) -> Self {
        self.api_keys.insert(api_key.into(), shared_key.into());
        self
    }

    /// Names a product (`product_details.product_name` in answers). Products that licenses name
    /// are known without this; their name is then their short code.
    pub fn product(mut self, short_code: impl Into<String>, name: impl Into<String>) -> Self {
        self.products.push((short_code.into(), name.into()));
        self
    }

    /// Adds a license. Repeatable.
    pub fn license(mut self, license: License) -> Self {
        self.licenses.push(license);
        self
    }

    /// Scripts a fault from the start (see [`ActivationDouble::fault`]).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets an expectation from the start (see [`ActivationDouble::expect`]).
    pub fn expect(mut self, requests: Requests, times: impl Into<Times>) -> Self {
        self.expectations.push(Expectation::new(requests, times.into()));
        self
    }

    /// Keeps at most this many requests in the journal, the oldest dropped first (0: none).
    pub fn journal_cap(mut self, cap: usize) -> Self {
        self.journal_cap = cap;
        self
    }

    /// Signs answers with this key instead of the test key.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Listens on this address instead of 127.0.0.1 on a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Remounts the wiremock mock after this many requests (tests of the recycling).
    #[cfg(test)]
    pub(crate) fn recycle_every(mut self, n: u64) -> Self {
        self.recycle_every = n;
        self
    }

    /// Answers the admin API under [`ADMIN_PREFIX`] (`lsconform mock --admin`; `admin.rs`).
    pub(crate) fn admin_api(mut self) -> Self {
        self.admin = true;
        self
    }

    /// Calls `log` with every journal entry as it is made (the standalone double's log lines).
    pub(crate) fn log(mut self, log: impl Fn(&JournalEntry) + Send + Sync + 'static) -> Self {
        self.log = Some(Box::new(log));
        self
    }

    /// Starts the double (and makes ring the process's rustls provider if none is installed:
    /// [`crate::install_crypto_provider`]). Panics if the address cannot be bound (like wiremock's
    /// `start`).
    pub async fn start(self) -> ActivationDouble {
        let listener = std::net::TcpListener::bind(self.listen)
            .unwrap_or_else(|e| panic!("the activation double cannot listen on {}: {e}", self.listen));
        self.start_on(listener).await
    }

    pub(crate) async fn start_on(self, listener: std::net::TcpListener) -> ActivationDouble {
        // The client under test is often a reqwest one, built right after this.
        crate::install_crypto_provider();
        let signing_key = self.signing_key.unwrap_or_else(|| {
            SigningKey::from_pem(crate::server::TEST_PRIVATE_KEY).expect("the bundled test key is valid")
        });
        let mut shared = Shared {
            api_keys: self.api_keys,
            signing_key,
            max_body: crate::server::DEFAULT_MAX_BODY,
            recycle_every: self.recycle_every,
            log: self.log,
            admin: self.admin,
            configured_products: self.products,
            configured_licenses: self.licenses,
            server: OnceLock::new(),
            state: Mutex::new(respond::State::new(
                Model::new(&[]),
                Journal::new(self.journal_cap),
            )),
        };
        let model = shared.configured_model();
        let state = shared.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.model = model;
        state.faults = self.faults;
        state.expectations = self.expectations;
        let shared = Arc::new(shared);
        let server = Arc::new(
            MockServer::builder()
                .listener(listener)
                // The journal is the double's bounded record; wiremock's would grow forever.
                .disable_request_recording()
                .start()
                .await,
        );
        let _ = shared.server.set(Arc::downgrade(&server));
        server.register(respond::mock(Arc::clone(&shared))).await;
        ActivationDouble { server, shared }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, respond::State> {
        // A panic in a test thread holding the lock must not make every later request fail.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
