//! Bounded memory: the journal holds at most its cap, and wiremock's copies of matched requests
//! are dropped by remounting the double's mock, without a request ever falling between the two.

use std::time::Instant;

use lsconform::protocol::RequestKind;

use crate::support::*;

/// Sends `n` requests from `tasks` concurrent clients: one in `success_every` a re-activation of
/// one device (200), the others a file signed with another key (401). Panics on any other answer,
/// in particular wiremock's bare 404 if a request fell between a reset and a remount.
async fn hammer(client: &Client, n: usize, tasks: usize, success_every: usize) {
    let wrong = builder(RequestKind::Activation, LICENSE, "hammer-device")
        .sign(API_KEY, "another-shared-key")
        .text;
    let right = activation(LICENSE, "hammer-device").text;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (client, wrong, right) = (client.clone(), wrong.clone(), right.clone());
        handles.push(tokio::spawn(async move {
            for i in (t..n).step_by(tasks) {
                let success = i % success_every == 0;
                let text = if success { &right } else { &wrong };
                let answer = client.post(RequestKind::Activation, text).await;
                let expected = if success {
                    (200, String::new())
                } else {
                    (401, "signature_mismatch".to_owned())
                };
                assert_eq!(answer.status_and_code(), expected, "request {i}");
            }
        }));
    }
    for h in handles {
        h.await.expect("a client task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_across_remounts_all_get_protocol_answers_and_the_journal_stays_at_its_cap() {
    let double = double_with_seats(1).journal_cap(100).start().await;
    let client = Client::of(&double);
    // Over three remounts of the mock (every 1024 requests).
    hammer(&client, 3300, 8, 8).await;
    assert_eq!(double.received(), 3300);
    let journal = double.journal();
    assert_eq!(journal.len(), 100);
    assert_eq!(journal.last().map(|e| e.seq), Some(3299));
}

/// The resident set size of this process, in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The memory figure for the README and the issue: `cargo test --release --test double --
/// --ignored --nocapture memory_stays_flat`; `LSCONFORM_DOUBLE_REQUESTS` sets the count
/// (default 100 000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run it in release with --nocapture"]
async fn memory_stays_flat_over_many_requests() {
    let n: usize = std::env::var("LSCONFORM_DOUBLE_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let Some(start) = rss_kib() else {
        eprintln!("no /proc/self/status: nothing to measure");
        return;
    };
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    // Warm up: the journal fills to its cap (1000), pools and buffers reach their size.
    let warm_up = 20_000.min(n / 5);
    hammer(&client, warm_up, 4, 10).await;
    let warm = rss_kib().unwrap_or(0);
    let started = Instant::now();
    let steps = 5;
    for _ in 0..steps {
        hammer(&client, (n - warm_up) / steps, 4, 10).await;
        eprintln!(
            "after {:>8} requests: RSS {:>7} KiB",
            double.received(),
            rss_kib().unwrap_or(0)
        );
    }
    let end = rss_kib().unwrap_or(0);
    let measured = double.received() - warm_up as u64;
    let growth = end.saturating_sub(warm);
    eprintln!(
        "RSS: {start} KiB at the start, {warm} KiB after {warm_up} requests (journal full), {end} KiB after \
         {} requests in {:.1}s; growth {growth} KiB over {measured} requests, {:.3} KiB per 1000 requests, \
         extrapolated to 10^6 requests: {} KiB",
        double.received(),
        started.elapsed().as_secs_f64(),
        growth as f64 * 1000.0 / measured as f64,
        growth * 1_000_000 / measured.max(1),
    );
    assert_eq!(double.journal().len(), 1000);
    // Wiremock alone would keep every request (~2 KiB each here): 100 000 requests, ~200 MiB.
    assert!(
        growth < 16 * 1024,
        "RSS grew by {growth} KiB over {measured} requests"
    );
}
