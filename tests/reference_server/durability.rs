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

/// The system calls that put written data on disk.
const SYNC_CALLS: &[&str] = &["fsync", "fdatasync", "sync_file_range", "msync", "sync", "syncfs"];

/// How many activations each run sends.
const ACTIVATIONS: usize = 20;

/// SPEC §5.6 against power loss, which a SIGKILL cannot show (the page cache outlives the
/// process): the server must sync every commit that acknowledges an activation. strace counts the
/// successful sync calls on the database's files and directory over a whole run (start, N
/// activations that each got a 200, graceful stop); a run with no activation measures start-up
/// and shutdown. The no-sync fault (synchronous=OFF) must come out below one sync per activation,
/// which proves that this test catches a server that does not sync; so would WAL with
/// synchronous=NORMAL, which syncs only at checkpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_syncs_every_acknowledged_activation_to_disk() {
    require_strace();
    let baseline = syncs_of_a_run(&[], 0).await;
    let synced = syncs_of_a_run(&[], ACTIVATIONS).await;
    let unsynced = syncs_of_a_run(&["--fault", "no-sync"], ACTIVATIONS).await;
    println!(
        "sync calls: {baseline} for start and stop; {synced} with {ACTIVATIONS} activations \
         ({:.2} each); {unsynced} with {ACTIVATIONS} activations under no-sync",
        synced.saturating_sub(baseline) as f64 / ACTIVATIONS as f64
    );
    assert!(
        synced >= baseline + ACTIVATIONS,
        "{ACTIVATIONS} acknowledged activations added only {} sync calls to the {baseline} of start \
         and stop: an acknowledged activation is not on disk (SPEC §5.6)",
        synced.saturating_sub(baseline)
    );
    assert!(
        unsynced < ACTIVATIONS,
        "the no-sync fault made {unsynced} sync calls for {ACTIVATIONS} activations: this test could \
         not tell a server that does not sync"
    );
}

/// Installs strace when it is missing (scripts/strace.sh, as the Python SDK's test makes its
/// virtualenv), and fails, saying what to do, when it still cannot trace here.
fn require_strace() {
    let trace = || {
        std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fsync", "-o", "/dev/null", "true"])
            .output()
    };
    let traced = trace().or_else(|_| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/strace.sh");
        let installed = std::process::Command::new(script).status();
        assert!(
            installed.as_ref().is_ok_and(|s| s.success()),
            "scripts/strace.sh could not install strace ({installed:?}): `apt-get install strace`"
        );
        trace()
    });
    match traced {
        Err(e) => panic!(
            "this test needs strace ({e}): `apt-get install strace` (.ci/run installs it before the tests)"
        ),
        Ok(out) => assert!(
            out.status.success(),
            "strace cannot trace here (ptrace refused?): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Runs `lsconform serve` on a fresh database under strace, sends `activations` activations
/// (each must get a 200), stops it with SIGTERM, and counts the successful sync calls on the
/// database's files and its directory.
async fn syncs_of_a_run(extra: &[&str], activations: usize) -> usize {
    let dir = std::env::temp_dir().join(format!("lsconform-syncs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("reference.sqlite");
    let trace = dir.join("strace.out");
    let calls = format!("trace={}", SYNC_CALLS.join(","));
    // -y: each descriptor with its path, so that only the database's syncs count.
    let wrapper = [
        "strace",
        "-f",
        "-qq",
        "-y",
        "-e",
        &calls,
        "-e",
        "signal=none",
        "-o",
        trace.to_str().unwrap(),
    ];
    let mut args = vec!["--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (mut strace, url, _log) = crate::common::process::launch_under(&wrapper, "serve", &args);
    let server = ServerPid(child_of(strace.id()));

    let client = Client::new(url);
    let key = license("perpetual");
    for _ in 0..activations {
        let answer = client.activate_on(&key, &device()).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }

    // SIGTERM to the server itself (strace would detach, not stop it): a graceful stop, which
    // closes the database, so its last checkpoint is counted too.
    server.signal("TERM");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = strace.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "lsconform serve under strace exited with {status}"
    );
    std::mem::forget(server); // it has exited: nothing left to kill

    let text = std::fs::read_to_string(&trace).unwrap();
    let count = count_syncs(&text, dir.to_str().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    count
}

/// The server's process id: the child of strace (strace forks it), found by the parent id in
/// /proc/*/stat.
fn child_of(parent: u32) -> u32 {
    for entry in std::fs::read_dir("/proc").unwrap().map_while(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            return pid;
        }
    }
    panic!("strace ({parent}) has no child: the server did not start under it");
}

/// The traced server, killed if the test fails before it stops it.
struct ServerPid(u32);

impl ServerPid {
    fn signal(&self, name: &str) {
        let _ = std::process::Command::new("kill")
            .args([format!("-{name}"), self.0.to_string()])
            .status();
    }
}

impl Drop for ServerPid {
    fn drop(&mut self) {
        self.signal("KILL");
    }
}

/// Successful sync calls on paths under `dir`, from strace's output with -f and -y. A call another
/// thread interrupted is written in two lines (`… <unfinished ...>`, then `<... fsync resumed> …`);
/// its result is on the second.
fn count_syncs(trace: &str, dir: &str) -> usize {
    let mut pending: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    let mut count = 0;
    for line in trace.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if let Some(resumed) = call.strip_prefix("<... ") {
            if pending.remove(pid) == Some(true) && succeeded(resumed) {
                count += 1;
            }
            continue;
        }
        let Some((name, rest)) = call.split_once('(') else {
            continue;
        };
        if !SYNC_CALLS.contains(&name) {
            continue;
        }
        let ours = rest.contains(&format!("<{dir}>")) || rest.contains(&format!("<{dir}/"));
        if rest.ends_with("<unfinished ...>") {
            pending.insert(pid, ours);
        } else if ours && succeeded(rest) {
            count += 1;
        }
    }
    count
}

/// Whether a finished call's line shows the result 0.
fn succeeded(line: &str) -> bool {
    line.rsplit_once(" = ")
        .is_some_and(|(_, result)| result.trim() == "0")
}

#[test]
fn count_syncs_reads_strace_lines() {
    let trace = "\
10 fsync(11</tmp/x/db.sqlite-wal>) = 0
10 fsync(12</tmp/x>)    = 0
10 fsync(3</var/log/other>) = 0
10 fsync(5</tmp/xy/db.sqlite>) = 0
10 fdatasync(9</tmp/x/db.sqlite>) = -1 EIO (Input/output error)
11 fsync(11</tmp/x/db.sqlite-wal> <unfinished ...>
12 fsync(4</var/log/other> <unfinished ...>
12 <... fsync resumed>) = 0
11 <... fsync resumed>) = 0
13 write(2</dev/pts/0>, \"fsync(1</tmp/x>) = 0\", 20) = 20
";
    assert_eq!(count_syncs(trace, "/tmp/x"), 3);
}
