//! `lsconform serve` as a process: one log line per request without secrets, and a graceful
//! shutdown on SIGTERM (in-flight requests finish, the database closes cleanly).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use lsconform::protocol::{format_http_date, AuthorizationHeader, RequestKind};

use crate::support::{device, file, license, serve, Client, API_KEY, SHARED_KEY};

fn collect(log: &std::sync::mpsc::Receiver<String>, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    while !until(&lines) {
        match log.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    lines
}

#[tokio::test]
async fn every_request_is_logged_once_with_code_status_latency_and_request_id_and_no_secret() {
    let (mut child, url, log) = serve(&[]);
    let client = Client::new(url);
    let f = file(RequestKind::Activation, &license("perpetual"), &device());
    let decoded = lsconform::protocol::decode_request(None, f.text.as_bytes()).unwrap();
    let request_id = decoded.payload.request_id.clone().unwrap();
    let inner_signature = decoded.payload.signature.clone().unwrap();
    let outer_signature = decoded.outer_signature.clone().unwrap();
    assert_eq!(client.activate(&f).await.status, 200);
    assert_eq!(
        client.activate_on("NONE", &device()).await.code(),
        "license_not_found"
    );
    let lines = collect(&log, |l| {
        l.iter().filter(|l| l.contains("latency_us")).count() >= 2
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let requests: Vec<&String> = lines.iter().filter(|l| l.contains("latency_us=")).collect();
    assert_eq!(requests.len(), 2, "{lines:#?}");
    assert!(
        requests[0].contains("status=200") && requests[0].contains("code=\"ok\""),
        "{}",
        requests[0]
    );
    assert!(requests[0].contains(&request_id), "{}", requests[0]);
    assert!(
        requests[1].contains("status=400") && requests[1].contains("license_not_found"),
        "{}",
        requests[1]
    );
    for line in &lines {
        for secret in [SHARED_KEY, &inner_signature, &outer_signature] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_and_closes_the_database_cleanly() {
    let dir = std::env::temp_dir().join(format!("lsconform-shutdown-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("reference.sqlite");
    let (mut child, url, _log) = serve(&["--db", db.to_str().unwrap()]);
    let addr = url.trim_start_matches("http://").to_owned();
    let (key, hw) = (license("perpetual"), device());
    let f = file(RequestKind::Activation, &key, &hw);
    let date = format_http_date(SystemTime::now());
    let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date);
    let pid = child.id().to_string();
    let status_line = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let body = f.text.as_bytes();
        write!(
            stream,
            "POST /api/v4/activate_offline HTTP/1.1\r\nHost: t\r\nDate: {date}\r\nAuthorization: {auth}\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body[..body.len() / 2]).unwrap();
        // The request is in flight: half its body is in. Now SIGTERM, then the rest.
        std::thread::sleep(Duration::from_millis(300));
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        std::thread::sleep(Duration::from_millis(300));
        stream.write_all(&body[body.len() / 2..]).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap();
    assert!(status_line.contains("200"), "{status_line:?}");
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    // Closed cleanly: the write-ahead log was checkpointed into the database and removed.
    let wal = dir.join("reference.sqlite-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL is left behind"
    );
    let (mut child, url, _log) = serve(&["--db", db.to_str().unwrap()]);
    assert_eq!(Client::new(url).deactivate_on(&key, &hw).await.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
