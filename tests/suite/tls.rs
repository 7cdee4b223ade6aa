//! `https://` targets: the suite trusts the system's roots and the profile's `tls_ca`, and a
//! certificate it cannot trust is an error of every case, never a pass.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use lsconform::server::ReferenceServer;
use lsconform::suite::{cases, run, Profile, RunOptions, Verdict};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

fn tls_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keys/tls")
        .join(name)
}

/// Accepts TLS connections with the test certificate for 127.0.0.1 (a handshake the client
/// breaks off is dropped, and the next connection accepted).
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// The reference server behind TLS; its `https://` URL.
async fn https_reference() -> (String, tokio::task::JoinHandle<()>) {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls_fixture("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", tcp.local_addr().unwrap());
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let router = ReferenceServer::builder().router().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, server)
}

fn profile_with_ca(url: &str) -> Profile {
    let text = format!("base_url = {url:?}\napi_key = \"k\"\nshared_key = \"s\"\ntls_ca = \"ca.pem\"\n");
    let from_file =
        Profile::from_toml(&text, &tls_fixture("")).expect("tls_ca is read relative to the profile");
    Profile {
        tls_ca: from_file.tls_ca,
        ..Profile::reference(url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_whose_ca_is_in_the_profile_passes_the_whole_suite() {
    let (url, server) = https_reference().await;
    let results = run(
        cases().unwrap(),
        &profile_with_ca(&url),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    server.abort();
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{} {:?}: {:?}", r.id, r.verdict, r.actual))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_target_with_a_certificate_nobody_vouches_for_is_an_error_of_every_case() {
    let (url, server) = https_reference().await;
    let some = lsconform::suite::select(cases().unwrap(), &["envelope/*".into()], &[]).unwrap();
    let results = run(some, &Profile::reference(&url), &RunOptions::default(), |_| {}).await;
    server.abort();
    assert!(!results.is_empty());
    for r in &results {
        assert_eq!(r.verdict, Verdict::Error, "{}: {:?}", r.id, r.actual);
        let why = r.actual.as_deref().unwrap_or_default().to_lowercase();
        assert!(why.contains("certificate"), "{}: {why}", r.id);
    }
}

#[test]
fn a_tls_ca_that_is_not_a_certificate_is_a_profile_error() {
    let text = "base_url = \"https://127.0.0.1:1\"\ntls_ca = \"server.key\"\n";
    let e = Profile::from_toml(text, &tls_fixture("")).unwrap_err();
    assert!(e.to_string().contains("tls_ca"), "{e}");
    let missing = Profile::from_toml(
        "base_url = \"https://127.0.0.1:1\"\ntls_ca = \"nowhere.pem\"\n",
        &tls_fixture(""),
    )
    .unwrap_err();
    assert!(missing.to_string().contains("nowhere.pem"), "{missing}");
}
