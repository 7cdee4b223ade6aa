//! SPEC §3 [pinned, safety]: the body is capped while it streams in (413 `payload_too_large`),
//! before anything is decoded, and before the headers are judged (SPEC §1a).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lsconform::server::ReferenceServer;

use crate::support::Client;

#[tokio::test]
async fn a_declared_body_over_the_cap_is_refused_with_413_before_the_headers_are_judged() {
    const CAP: usize = lsconform::protocol::MIN_BODY_CAP;
    let server = ReferenceServer::builder().max_body(CAP).start().await.unwrap();
    let client = Client::of(&server);
    let bare = client
        .http()
        .post(client.url("/api/v4/activate_offline"))
        .body(vec![b'!'; CAP + 1]);
    let answer = client.send(bare).await;
    assert_eq!(
        (answer.status, answer.code()),
        (413, "payload_too_large".to_owned())
    );
    // At the cap exactly, the body is read and the missing headers are what is wrong.
    let bare = client
        .http()
        .post(client.url("/api/v4/activate_offline"))
        .body(vec![b'!'; CAP]);
    assert_eq!(client.send(bare).await.code(), "missing_headers");
    server.shutdown().await;
}

/// Streams an endless chunked body; returns the status line and how many body bytes were sent.
fn stream_endless_body(addr: std::net::SocketAddr) -> (String, usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /api/v4/activate_offline HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'A'; 16 * 1024];
    let mut sent = 0;
    // At most 256 MiB; the server must answer long before.
    while sent < 256 << 20 {
        let ok = write!(stream, "{:x}\r\n", chunk.len()).is_ok()
            && stream.write_all(&chunk).is_ok()
            && stream.write_all(b"\r\n").is_ok();
        if !ok {
            break;
        }
        sent += chunk.len();
        // Stop as soon as an answer is there.
        stream.set_nonblocking(true).unwrap();
        let mut peek = [0u8; 1];
        let answered = matches!(stream.peek(&mut peek), Ok(n) if n > 0);
        stream.set_nonblocking(false).unwrap();
        if answered {
            break;
        }
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    (text.lines().next().unwrap_or_default().to_owned(), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_streamed_body_is_cut_off_at_the_cap_with_413() {
    let server = ReferenceServer::builder()
        .max_body(64 * 1024)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    let (status_line, sent) = tokio::task::spawn_blocking(move || stream_endless_body(addr))
        .await
        .unwrap();
    assert!(status_line.contains("413"), "{status_line:?}");
    // The server stopped reading near the cap: far less than the 256 MiB on offer (socket
    // buffers let a few MiB through at most).
    assert!(sent < 32 << 20, "{sent} bytes were sent before the answer");
    server.shutdown().await;
}

/// Sends `Content-Length: len` and then the body slowly, in small pieces, before reading the
/// answer (a client that does not look for an early answer); returns whether every write went
/// through, and the status line.
fn send_slowly_then_read(addr: std::net::SocketAddr, len: usize) -> (bool, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /api/v4/activate_offline HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
    )
    .unwrap();
    let piece = vec![b'\n'; 4096];
    let mut written = 0;
    let mut all_written = true;
    while written < len {
        let n = piece.len().min(len - written);
        if stream.write_all(&piece[..n]).is_err() {
            all_written = false;
            break;
        }
        written += n;
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    (all_written, text.lines().next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_still_sending_a_body_over_the_cap_reads_the_413_instead_of_a_reset() {
    let server = ReferenceServer::builder()
        .max_body(64 * 1024)
        .start()
        .await
        .unwrap();
    let addr = server.addr();
    // Declared over the cap, so refused before a byte of it is read; the client writes it all
    // anyway and only then reads the answer, as many HTTP clients do.
    let (all_written, status_line) =
        tokio::task::spawn_blocking(move || send_slowly_then_read(addr, 256 * 1024))
            .await
            .unwrap();
    assert!(
        all_written,
        "the server reset the connection while the body was being sent"
    );
    assert!(status_line.contains("413"), "{status_line:?}");
    server.shutdown().await;
}
