//! Hostile targets: servers that never answer, answer a byte at a time, answer forever, answer
//! huge, answer something that is not HTTP, or hang up. Every case is an error with what was seen,
//! never a pass; the run goes on and ends (exit code 1), bounded by the timeout and the answer cap.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use lsconform::suite::{run, select, Baseline, Profile, Report, RunOptions, Verdict};

use crate::support::all_cases;

/// Serves every connection with `behave` on its own thread; returns the base URL.
fn hostile(behave: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behave(stream));
        }
    });
    url
}

fn read_request(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = stream.read(&mut buf);
}

fn silent(mut s: TcpStream) {
    read_request(&mut s);
    std::thread::sleep(Duration::from_secs(30));
}

fn byte_at_a_time(mut s: TcpStream) {
    read_request(&mut s);
    for b in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        .iter()
        .chain([b'{'; 100_000].iter())
    {
        if s.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn endless(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let chunk = [b'x'; 65536];
    while s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_ok()
        && s.write_all(&chunk).is_ok()
        && s.write_all(b"\r\n").is_ok()
    {}
}

fn huge(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n",
    );
    let chunk = [b' '; 65536];
    while s.write_all(&chunk).is_ok() {}
}

fn not_http(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\nthis is not HTTP at all\r\n");
}

fn hangs_up(s: TcpStream) {
    drop(s);
}

fn endless_headers(mut s: TcpStream) {
    read_request(&mut s);
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
    while s
        .write_all(b"X-Lsconform: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
        .is_ok()
    {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_case_against_a_hostile_target_is_an_error_and_the_run_ends() {
    type Behaviour = fn(TcpStream);
    let targets: [(&str, Behaviour); 7] = [
        ("silent", silent),
        ("byte-at-a-time", byte_at_a_time),
        ("endless", endless),
        ("huge", huge),
        ("not-http", not_http),
        ("hangs-up", hangs_up),
        ("endless-headers", endless_headers),
    ];
    let options = RunOptions {
        jobs: 8,
        timeout: Duration::from_secs(1),
        ..RunOptions::default()
    };
    for (name, behave) in targets {
        let url = hostile(behave);
        let profile = Profile::reference(url.clone());
        let cases = select(all_cases(), &["envelope/*".into(), "state/seat-race".into()], &[]).unwrap();
        let n = cases.len();
        // A hang guard, not a speed test: the run must end at all.
        let results = tokio::time::timeout(Duration::from_secs(300), run(cases, &profile, &options, |_| {}))
            .await
            .unwrap_or_else(|_| panic!("the run against the {name} target did not end"));
        assert_eq!(results.len(), n, "{name}");
        for r in &results {
            assert_eq!(
                r.verdict,
                Verdict::Error,
                "{name}: {} was {:?} ({:?})",
                r.id,
                r.verdict,
                r.actual
            );
            assert!(
                r.actual.as_deref().is_some_and(|a| !a.is_empty()),
                "{name}: {} says what was seen",
                r.id
            );
        }
        let report = Report::new(url, results, &Baseline::default(), Duration::ZERO);
        assert_eq!(report.exit_code(), 1, "{name}");
    }
}
