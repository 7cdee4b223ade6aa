//! The ceiling for HTTP on this machine, for `benches/server_load.sh`: axum on tokio (the same
//! stack and runtime as `lsconform serve`), one handler that reads the body and answers a fixed
//! 200 to any method and path.
//!
//! `cargo run --release --example bare_axum -- 8181` listens on 127.0.0.1:8181 until killed.

use axum::body::Bytes;
use axum::Router;

async fn ok(_body: Bytes) -> &'static str {
    "ok"
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| format!("the port {p:?}: {e}"))?,
        None => return Err("usage: bare_axum PORT".into()),
    };
    // Like `lsconform serve`: a multi-threaded runtime with one worker per core.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("bare_axum listening on http://{}", listener.local_addr()?);
        axum::serve(listener, Router::new().fallback(ok)).await?;
        Ok(())
    })
}
