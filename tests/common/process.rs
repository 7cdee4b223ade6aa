//! The `lsconform` binary started as a server for a test (`serve`, `mock`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// A started process, killed when the test ends however it ends (a test that panics leaves no
/// server behind); a `Child` otherwise.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Running {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts `lsconform <command> --listen 127.0.0.1:0 <args>`; returns the process, the URL it
/// logs that it listens on, and its log lines as they come (read on a thread, so the process
/// never blocks on a full pipe).
pub fn launch(command: &str, args: &[&str]) -> (Running, String, Receiver<String>) {
    launch_under(&[], command, args)
}

/// [`launch`] under another program: `wrapper[0] wrapper[1..] lsconform <command> …` (e.g.
/// strace). The process returned is the wrapper's; it must pass stderr through.
pub fn launch_under(wrapper: &[&str], command: &str, args: &[&str]) -> (Running, String, Receiver<String>) {
    let binary = env!("CARGO_BIN_EXE_lsconform");
    let mut line: Vec<&str> = wrapper.to_vec();
    line.push(binary);
    let mut child = Command::new(line[0])
        .args(&line[1..])
        .args([command, "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("lsconform {command} starts: {e}"));
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("lsconform {command} logs where it listens"))
            .expect("text");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("a URL").to_owned();
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Running(child), url, rx)
}

/// Runs `lsconform ARGS` to its end; one that has not ended after three minutes is killed and the
/// test fails (a hang guard, not a timing). The output is read while it runs, so a long one never
/// blocks on a full pipe.
pub fn lsconform(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lsconform starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(out) => out.expect("its output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("lsconform {args:?} did not end within three minutes");
        }
    }
}

/// A fresh directory for one test of a suite: `<tmp>/lsconform-<suite>-<pid>-<name>`.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lsconform-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// A path in the repository.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The reference seed's profile (`fixtures/targets/reference.toml`) for a server at `url` whose
/// answers `public_key` verifies, its text changed by `edit`, written to `path`; returns the path.
pub fn reference_profile(
    path: &Path,
    url: &str,
    public_key: &Path,
    edit: impl Fn(String) -> String,
) -> String {
    let text = std::fs::read_to_string(fixture("fixtures/targets/reference.toml")).expect("the profile");
    let text: String = text
        .lines()
        .map(|line| match line.split_whitespace().next() {
            Some("base_url") => format!("base_url = \"{url}\""),
            Some("public_key") => format!("public_key = \"{}\"", public_key.display()),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(path, edit(text)).expect("a profile written");
    path.display().to_string()
}

/// A target that accepts connections and never answers (every exchange with it ends at its
/// timeout); its URL. The listener lives as long as the test binary.
pub fn silent_target() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            open.push(stream);
        }
    });
    url
}
