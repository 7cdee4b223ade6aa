//! SPEC §5.4 [safety]: N simultaneous activations of a license with k free seats give exactly k
//! successes.

use std::sync::Arc;

use lsconform::protocol::{decode_request, RequestFile, RequestKind};
use tokio::sync::Barrier;

use crate::support::{device, file, license, reference, Client};

pub const CONTENDERS: usize = 32;
pub const FREE_SEATS: usize = 3;
const ROUNDS: usize = 12;

/// Sends `CONTENDERS` activations of `key` at once, each from a new device; returns the files
/// that got a seat and how many were refused with `license_activated_max_times`.
pub async fn contend(client: &Client, key: &str) -> (Vec<RequestFile>, usize) {
    // Build and sign every file first, so that the requests leave together.
    let files: Vec<_> = (0..CONTENDERS)
        .map(|_| file(RequestKind::Activation, key, &device()))
        .collect();
    let barrier = Arc::new(Barrier::new(CONTENDERS));
    let tasks: Vec<_> = files
        .into_iter()
        .map(|f| {
            let (client, barrier) = (client.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let answer = client.activate(&f).await;
                (f, answer)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (f, answer) = task.await.expect("the task runs");
        match answer.status {
            200 => winners.push(f),
            _ => {
                assert_eq!(answer.code(), "license_activated_max_times");
                refused += 1;
            }
        }
    }
    (winners, refused)
}

/// Gives back the seats `contend` won.
pub async fn give_back(client: &Client, key: &str, winners: &[RequestFile]) {
    for f in winners {
        let hw = decode_request(None, f.text.as_bytes())
            .unwrap()
            .payload
            .hardware_id
            .unwrap();
        assert_eq!(client.deactivate_on(key, &hw).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_simultaneous_activations_of_three_free_seats_give_exactly_three_successes() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("limited");
    for round in 0..ROUNDS {
        let (winners, refused) = contend(&client, &key).await;
        assert_eq!(
            (winners.len(), refused),
            (FREE_SEATS, CONTENDERS - FREE_SEATS),
            "round {round}"
        );
        give_back(&client, &key, &winners).await;
    }
    server.shutdown().await;
}
