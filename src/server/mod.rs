//! The reference implementation of `POST /api/v4/activate_offline` and
//! `POST /api/v4/deactivate_offline`: axum on tokio, a SQLite store seeded from a data file, the
//! checks of SPEC §1a–§7 as one pipeline ([`pipeline`](self)), named faults and named conforming
//! variants for the suite's self-test.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use lsconform::server::ReferenceServer;
//! let server = ReferenceServer::builder().start().await?;
//! println!("listening on {}", server.uri());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod faults;
mod pipeline;
mod seed;
mod store;
mod switches;
mod variants;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::protocol::{KeyError, SigningKey};
use crate::Clock;

pub use faults::{Fault, Faults};
pub use seed::{Seed, SeedError, REFERENCE_SEED};
pub use store::StoreError;
pub use switches::Switches;
pub use variants::{Variant, Variants};

/// The test-only private key the reference server signs with unless given another
/// (`fixtures/keys/reference-private.pem`; public, so never pin its public key in a real client).
pub const TEST_PRIVATE_KEY: &str = include_str!("../../fixtures/keys/reference-private.pem");

/// The default body cap (SPEC §3): 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// What the request handlers share.
pub(crate) struct App {
    store: store::Store,
    api_keys: HashMap<String, String>,
    signing_key: SigningKey,
    max_body: usize,
    faults: Faults,
    variants: variants::ServerVariants,
    clock: Clock,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The private key.
    #[error("the private key: {0}")]
    Key(#[from] KeyError),
    /// A body cap below the floor of SPEC §3.
    #[error("the body cap of {0} bytes is below the floor of SPEC §3 ({min} bytes)", min = crate::protocol::MIN_BODY_CAP)]
    BodyCap(usize),
    /// The listening socket.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Builds a reference server: `ReferenceServer::builder().database(path).fault(f).start().await`.
#[derive(Debug)]
pub struct ReferenceServerBuilder {
    listen: SocketAddr,
    database: Option<PathBuf>,
    seed: Option<Seed>,
    private_key_pem: Option<String>,
    max_body: usize,
    faults: Faults,
    variants: Variants,
    clock: Clock,
}

/// The reference server.
pub struct ReferenceServer;

impl ReferenceServer {
    /// A server on 127.0.0.1 on a free port, with a fresh in-memory database holding the
    /// reference seed, the test key, the default body cap and no fault.
    pub fn builder() -> ReferenceServerBuilder {
        ReferenceServerBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: None,
            seed: None,
            private_key_pem: None,
            max_body: DEFAULT_MAX_BODY,
            faults: Faults::none(),
            variants: Variants::none(),
            clock: Clock::system(),
        }
    }
}

impl ReferenceServerBuilder {
    /// Listens on this address (port 0: a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Keeps its data in this SQLite file (created and seeded when new).
    pub fn database(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = Some(path.into());
        self
    }

    /// Seeds a new database with this data instead of the reference seed.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Signs answers with this private key (PEM) instead of the test key.
    pub fn private_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.private_key_pem = Some(pem.into());
        self
    }

    /// Caps request bodies at this many bytes: at least [`MIN_BODY_CAP`](crate::protocol::MIN_BODY_CAP)
    /// (SPEC §3), or `start` fails with [`StartError::BodyCap`].
    ///
    /// ```
    /// use lsconform::server::{ReferenceServer, StartError};
    /// let refused = ReferenceServer::builder().max_body(1024).router();
    /// assert!(matches!(refused, Err(StartError::BodyCap(1024))));
    /// assert!(ReferenceServer::builder().max_body(16 * 1024).router().is_ok());
    /// ```
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Turns a named fault on.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.faults = self.faults.with(fault);
        self
    }

    /// Turns a named conforming variant on: another answer SPEC allows at one point (SPEC §10).
    /// Variants combine with each other and with faults.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use lsconform::server::{ReferenceServer, Variant};
    /// let server = ReferenceServer::builder()
    ///     .variant(Variant::SignatureMismatch400)
    ///     .variant(Variant::MissingContent)
    ///     .start()
    ///     .await?;
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn variant(mut self, variant: Variant) -> Self {
        self.variants = self.variants.with(variant);
        self
    }

    /// Reads the time from `clock` instead of the system clock: the Date check of SPEC §2, the
    /// answer's `date`, validity, and the time of the seed's activations. The suite, handed the same
    /// [`Clock`] (`RunOptions::clock`), runs against it on any day as on the day it reads; the
    /// `handler` fuzz target stops it at the fixtures' date so that its signed seeds never go stale.
    ///
    /// ```
    /// use lsconform::server::ReferenceServer;
    /// use lsconform::Clock;
    /// // 2026-12-31T23:59:50Z, and on from there.
    /// let clock: Clock = "2026-12-31T23:59:50Z".parse().unwrap();
    /// assert!(ReferenceServer::builder().clock(clock).router().is_ok());
    /// ```
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the database, seeds it if new, and builds the router (no socket yet).
    pub fn router(self) -> Result<axum::Router, StartError> {
        Ok(pipeline::router(Arc::new(self.app()?)))
    }

    fn app(&self) -> Result<App, StartError> {
        if self.max_body < crate::protocol::MIN_BODY_CAP {
            return Err(StartError::BodyCap(self.max_body));
        }
        let signing_key = SigningKey::from_pem(self.private_key_pem.as_deref().unwrap_or(TEST_PRIVATE_KEY))?;
        let store = store::Store::open(self.database.as_deref(), !self.faults.has(Fault::NoSync))?;
        if store.is_empty()? {
            let seed = self.seed.clone().unwrap_or_else(Seed::reference);
            store.apply_seed(&seed, self.clock.now())?;
        }
        let api_keys = store.api_keys()?;
        Ok(App {
            store,
            api_keys,
            signing_key,
            max_body: self.max_body,
            faults: self.faults.clone(),
            variants: variants::ServerVariants::new(self.variants.clone()),
            clock: self.clock,
        })
    }

    /// Starts serving in the background.
    pub async fn start(self) -> Result<RunningServer, StartError> {
        let app = Arc::new(self.app()?);
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: self.listen,
            source,
        })?;
        let variants = app.variants.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let router = pipeline::router(app);
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("the server stopped: {e}");
            }
        });
        Ok(RunningServer {
            addr,
            stop,
            task,
            variants,
        })
    }
}

/// A server running in the background; [`shutdown`](RunningServer::shutdown) stops it gracefully.
pub struct RunningServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    variants: variants::ServerVariants,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every conforming variant that is on, in the order they were turned on, with how many answers
    /// it has changed so far: answers that differ (in status, code or members) from those the
    /// server would have given without it. A variant whose count stays 0 was never exercised.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use lsconform::server::{ReferenceServer, Variant};
    /// let server = ReferenceServer::builder()
    ///     .variant(Variant::ErrorExtraMembers)
    ///     .variant(Variant::Bearer401)
    ///     .start()
    ///     .await?;
    /// assert_eq!(
    ///     server.variant_effects(),
    ///     [(Variant::ErrorExtraMembers, 0), (Variant::Bearer401, 0)]
    /// );
    /// // Another path: 404 not_found, with a fourth member in the error body.
    /// lsconform::install_crypto_provider();
    /// let answer = reqwest::Client::new()
    ///     .post(format!("{}/nowhere", server.uri()))
    ///     .send()
    ///     .await?;
    /// assert_eq!(answer.status(), 404);
    /// assert_eq!(
    ///     server.variant_effects(),
    ///     [(Variant::ErrorExtraMembers, 1), (Variant::Bearer401, 0)]
    /// );
    /// server.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn variant_effects(&self) -> Vec<(Variant, u64)> {
        self.variants.effects()
    }

    /// Stops accepting connections, lets in-flight requests finish, and closes the database.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}
