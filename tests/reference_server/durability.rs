//! SPEC §5.6 [safety]: an acknowledged activation survives a crash. The server process is killed
//! with SIGKILL in the middle of a stream of activations, restarted on the same database, and
//! every activation that got a 200 is still there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::{device, license, serve, Client};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_activation_survives_a_sigkill() {
    let dir = std::env::temp_dir().join(format!("lsconform-durability-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("reference.sqlite");
    let (mut child, url, _log) = serve(&["--db", db.to_str().unwrap()]);
    let client = Client::new(url);
    let key = license("perpetual");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (client, key, acked, stop) =
                (client.clone(), key.clone(), Arc::clone(&acked), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let hw = device();
                    let file = crate::support::file(lsconform::protocol::RequestKind::Activation, &key, &hw);
                    let sent = client.http().post(client.url("/api/v4/activate_offline"));
                    let date = lsconform::protocol::format_http_date(std::time::SystemTime::now());
                    let auth = lsconform::protocol::AuthorizationHeader::signed(
                        crate::support::API_KEY,
                        crate::support::SHARED_KEY,
                        &date,
                    );
                    let result = sent
                        .header("Date", date)
                        .header("Authorization", auth.to_string())
                        .body(file.text)
                        .send()
                        .await;
                    let Ok(response) = result else { break }; // the server is gone
                    let status = response.status();
                    // Acknowledged: a 200 whose whole answer arrived.
                    if status == 200 && response.bytes().await.is_ok() {
                        acked.lock().unwrap().push(hw);
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL"); // std's Child::kill is SIGKILL on Unix
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40);

    let (mut child, url, _log) = serve(&["--db", db.to_str().unwrap()]);
    let client = Client::new(url);
    for hw in &acked {
        let answer = client.deactivate_on(&key, hw).await;
        assert_eq!(answer.status, 200, "the acknowledged activation of {hw} was lost");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
