//! SPEC §5.4–§5.5 and deactivate_offline: re-activation, request-id replay and conflict,
//! freeing a seat, transfers.

use lsconform::protocol::{RequestBuilder, RequestKind, Style};

use crate::support::{self, device, file, license, reference, Client, API_KEY, SHARED_KEY};

#[tokio::test]
async fn reactivating_the_same_device_is_a_200_without_another_seat() {
    let server = reference().await;
    let client = Client::of(&server);
    let (key, hw) = (license("limited"), device());
    assert_eq!(client.activate_on(&key, &hw).await.u64("times_activated"), 1);
    let again = client.activate_on(&key, &hw).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.u64("times_activated"), 1);
    assert_eq!(
        client.activate_on(&key, &device()).await.u64("times_activated"),
        2
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_device_already_holding_a_seat_reactivates_when_the_seats_are_full() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("limited");
    let devices: Vec<String> = (0..3).map(|_| device()).collect();
    for hw in &devices {
        assert_eq!(client.activate_on(&key, hw).await.status, 200);
    }
    assert_eq!(
        client.activate_on(&key, &device()).await.code(),
        "license_activated_max_times"
    );
    let again = client.activate_on(&key, &devices[0]).await;
    assert_eq!((again.status, again.u64("times_activated")), (200, 3));
    server.shutdown().await;
}

#[tokio::test]
async fn the_same_request_id_and_payload_again_gets_the_same_answer_and_no_seat() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("limited");
    let f = file(RequestKind::Activation, &key, &device());
    let first = client.activate(&f).await;
    assert_eq!(first.status, 200);
    // Another device takes a seat in between: the replay still gets the first answer, byte for byte.
    assert_eq!(
        client.activate_on(&key, &device()).await.u64("times_activated"),
        2
    );
    let replay = client.activate(&f).await;
    assert_eq!((replay.status, &replay.body), (200, &first.body));
    assert_eq!(
        client.activate_on(&key, &device()).await.u64("times_activated"),
        3
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_same_request_id_with_another_payload_is_a_409_conflict() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("perpetual");
    let request_id = uuid::Uuid::new_v4().to_string();
    let first = support::builder(RequestKind::Activation, &key, &device())
        .request_id(&request_id)
        .sign(API_KEY, SHARED_KEY);
    assert_eq!(client.activate(&first).await.status, 200);
    let other = support::builder(RequestKind::Activation, &key, &device())
        .request_id(&request_id)
        .sign(API_KEY, SHARED_KEY);
    let answer = client.activate(&other).await;
    assert_eq!(
        (answer.status, answer.code()),
        (409, "request_id_conflict".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_replays_of_one_request_take_one_seat_and_get_one_answer() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("limited");
    let f = file(RequestKind::Activation, &key, &device());
    let answers = futures_join(8, || {
        let (client, f) = (client.clone(), f.clone());
        async move { client.activate(&f).await }
    })
    .await;
    assert!(answers
        .iter()
        .all(|a| a.status == 200 && a.body == answers[0].body));
    assert_eq!(
        client.activate_on(&key, &device()).await.u64("times_activated"),
        2
    );
    server.shutdown().await;
}

/// Runs `n` copies of a future at once.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<crate::support::Answer>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crate::support::Answer> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("the task runs"));
    }
    out
}

#[tokio::test]
async fn deactivation_frees_the_seat_and_answers_license_deactivated_as_text() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("exhausted");
    // The exhausted license's only seat is held by the seed's device.
    assert_eq!(
        client.activate_on(&key, &device()).await.code(),
        "license_activated_max_times"
    );
    let answer = client.deactivate_on(&key, "lsconform-seed-device-1").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"license_deactivated");
    assert!(
        answer.content_type.starts_with("text/plain"),
        "{}",
        answer.content_type
    );
    assert_eq!(client.activate_on(&key, &device()).await.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn deactivating_a_device_without_a_seat_is_device_not_found() {
    let server = reference().await;
    let client = Client::of(&server);
    let answer = client.deactivate_on(&license("perpetual"), &device()).await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "device_not_found".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_replayed_deactivation_gets_the_same_answer() {
    let server = reference().await;
    let client = Client::of(&server);
    let (key, hw) = (license("perpetual"), device());
    assert_eq!(client.activate_on(&key, &hw).await.status, 200);
    let f = file(RequestKind::Deactivation, &key, &hw);
    assert_eq!(client.deactivate(&f).await.body, b"license_deactivated");
    assert_eq!(client.deactivate(&f).await.body, b"license_deactivated");
    // A new deactivation file for the same device finds no seat.
    assert_eq!(client.deactivate_on(&key, &hw).await.code(), "device_not_found");
    server.shutdown().await;
}

#[tokio::test]
async fn activating_another_device_after_a_deactivation_counts_a_transfer() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("limited");
    let (first, second, third) = (device(), device(), device());
    assert_eq!(client.activate_on(&key, &first).await.u64("transfer_count"), 0);
    assert_eq!(client.deactivate_on(&key, &first).await.status, 200);
    let moved = client.activate_on(&key, &second).await;
    assert_eq!(
        (moved.u64("transfer_count"), moved.u64("times_activated")),
        (1, 1)
    );
    // No deactivation since: a new device is a new seat, not a transfer.
    assert_eq!(client.activate_on(&key, &third).await.u64("transfer_count"), 1);
    server.shutdown().await;
}

/// SPEC §4: a file without a `request` member is of the endpoint it is posted to [sdk]: the Node
/// SDK's air-gapped deactivation file has neither `request` nor `request_id`.
#[tokio::test]
async fn a_file_without_a_request_member_is_of_the_endpoint_it_is_posted_to() {
    let server = reference().await;
    let client = Client::of(&server);
    let key = license("perpetual");
    for style in [Style::Schema1, Style::JavaScript] {
        let hw = device();
        let without_request = |kind| {
            RequestBuilder::new(kind)
                .license_key(&key)
                .hardware_id(&hw)
                .product("TP")
                .date("Fri, 27 Nov 2026 04:36:34 GMT")
                .style(style)
                .remove("request")
                .sign(API_KEY, SHARED_KEY)
        };
        let activation = without_request(RequestKind::Activation);
        let deactivation = without_request(RequestKind::Deactivation);
        assert_eq!(client.activate(&activation).await.status, 200, "{style:?}");
        let freed = client.deactivate(&deactivation).await;
        assert_eq!(
            (freed.status, String::from_utf8_lossy(&freed.body).into_owned()),
            (200, "license_deactivated".to_owned()),
            "{style:?}"
        );
        // The seat is free: the device holds none any more.
        assert_eq!(
            client.deactivate(&deactivation).await.code(),
            "device_not_found",
            "{style:?}"
        );
    }
    server.shutdown().await;
}

/// SPEC §4, §10 [pinned, safety]: a `request` member that is present and not the endpoint's own
/// (`null` included) is refused on either endpoint.
#[tokio::test]
async fn a_null_request_member_is_refused_on_both_endpoints() {
    let server = reference().await;
    let client = Client::of(&server);
    let (key, hw) = (license("perpetual"), device());
    assert_eq!(client.activate_on(&key, &hw).await.status, 200);
    let null = |kind| {
        support::builder(kind, &key, &hw)
            .set("request", serde_json::Value::Null)
            .sign(API_KEY, SHARED_KEY)
    };
    assert_eq!(
        client.deactivate(&null(RequestKind::Deactivation)).await.code(),
        "validation_error"
    );
    assert_eq!(
        client.activate(&null(RequestKind::Activation)).await.code(),
        "validation_error"
    );
    assert_eq!(client.deactivate_on(&key, &hw).await.status, 200);
    server.shutdown().await;
}
