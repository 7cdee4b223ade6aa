//! The `lsconform` binary started as a server for a test (`serve`, `mock`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;

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
