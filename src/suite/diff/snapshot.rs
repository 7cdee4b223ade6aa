//! Snapshots of a server's answers: one file per case, in insta's format (`cargo insta review`
//! reads them), holding the case's normalised answer and the suite's verdict on it.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The file of case `id` under `dir`: `envelope/missing-date-header` is
/// `DIR/envelope__missing-date-header.snap`.
///
/// ```
/// use lsconform::suite::diff::snapshot_path;
/// use std::path::Path;
/// assert_eq!(
///     snapshot_path(Path::new("snaps"), "envelope/missing-date-header"),
///     Path::new("snaps/envelope__missing-date-header.snap")
/// );
/// ```
pub fn snapshot_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{}.snap", id.replace('/', "__")))
}

/// A pending change beside a snapshot, as insta names it (`….snap.new`).
pub(super) fn pending_path(dir: &Path, id: &str) -> PathBuf {
    let mut p = snapshot_path(dir, id).into_os_string();
    p.push(".new");
    PathBuf::from(p)
}

/// The text of a snapshot file: insta's header, then the value as pretty JSON.
pub(super) fn text(id: &str, value: &Value) -> String {
    format!(
        "---\nsource: lsconform\nexpression: {id}\n---\n{}\n",
        serde_json::to_string_pretty(value).expect("a JSON value always serialises")
    )
}

/// Reads a snapshot file: its value, or why it cannot be read.
pub(super) fn read(path: &Path) -> Result<Option<Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    // insta's header: a line `---`, the metadata, a line `---`; the content after it.
    let content = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map_or(text.as_str(), |(_, content)| content);
    serde_json::from_str(content)
        .map(Some)
        .map_err(|e| format!("{}: not a snapshot of lsconform ({e})", path.display()))
}

/// Writes `value` as the snapshot of `id` (or as its pending change), creating `dir`.
pub(super) fn write(path: &Path, id: &str, value: &Value) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text(id, value)).map_err(|e| format!("{}: {e}", path.display()))
}
