//! What a driver script of an official SDK (`tests/python_sdk/interop.py`,
//! `tests/node_sdk/interop.js`, …) reported: its exit status, the JSON it printed, its stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;

use lsconform::protocol::{decode_request, DecodedRequest};
use serde_json::Value;

/// The reference seed's API key, shared key and product, as the SDK tests give them to the drivers.
pub const API_KEY: &str = "lsconform-test-api-key";
pub const SHARED_KEY: &str = "lsconform-test-shared-key";
pub const PRODUCT: &str = "TP";
/// The reference seed's `perpetual` license (1,000,000 seats), in the server and in the mock.
pub const PERPETUAL: &str = "PERP-0000-0000-0001";
pub const REFERENCE_PUBLIC_KEY: &str = "fixtures/keys/reference-public.pem";
/// The public half of a key that did not sign the reference server's answers.
pub const OTHER_PUBLIC_KEY: &str = "fixtures/keys/other-public.pem";
pub const NON_ASCII_HOSTNAME: &str = "büro-пк-😀";
/// What serialisers escape differently: quotes, backslash, slash, tab, DEL, a C0 control, U+2028.
pub const ESCAPES_HOSTNAME: &str = "pc \"7\" \\ / tab\t del\u{7f} ctl\u{1} ls\u{2028} é";

/// The options every driver script (`interop.py`, `interop.js`) takes: the server at `url`, the
/// answers verified with `public_key` (a path in the repository), the reference seed's keys,
/// product and `perpetual` license, this device and hostname, and the `mode` to run.
pub fn driver_args(
    url: &str,
    public_key: &str,
    hardware_id: &str,
    hostname: &str,
    mode: &str,
) -> Vec<String> {
    let public_key = repo(public_key).display().to_string();
    [
        "--url",
        url,
        "--public-key",
        &public_key,
        "--api-key",
        API_KEY,
        "--shared-key",
        SHARED_KEY,
        "--product",
        PRODUCT,
        "--license-key",
        PERPETUAL,
        "--hardware-id",
        hardware_id,
        "--hostname",
        hostname,
        "--mode",
        mode,
    ]
    .map(String::from)
    .to_vec()
}

/// One run of an SDK's driver script.
pub struct SdkRun {
    pub status: ExitStatus,
    /// The JSON object the script printed on stdout.
    pub out: Value,
    pub stderr: String,
    /// The SDK version the test pins: every run must say it ran that one.
    pub sdk_version: &'static str,
}

impl SdkRun {
    /// Runs a driver script's `command` off the test's runtime (the server under test may run on
    /// it), with a 180 s backstop (the scripts time their own requests out after 60 s), and reads
    /// the JSON object it prints last. `script` names it in failures.
    pub async fn of(mut command: Command, script: &str, sdk_version: &'static str) -> SdkRun {
        // Requests from the SDKs must not send 127.0.0.1 to a proxy.
        command
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost");
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(180),
            tokio::task::spawn_blocking(move || command.output()),
        )
        .await
        .unwrap_or_else(|_| panic!("{script} finishes within 180 s"))
        .expect("the waiting task does not panic")
        .unwrap_or_else(|e| panic!("{script}'s interpreter starts: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let out = stdout
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| {
                panic!(
                    "{script} printed no JSON line (exit {})\nstdout: {stdout}\nstderr:\n{stderr}",
                    output.status
                )
            });
        SdkRun {
            status: output.status,
            out,
            stderr,
            sdk_version,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {}\nstdout: {}\nstderr:\n{}",
            self.status, self.out, self.stderr
        )
    }

    /// A string member of the output, which must be there.
    pub fn text(&self, name: &str) -> &str {
        self.out[name]
            .as_str()
            .unwrap_or_else(|| panic!("no string {name:?} in the SDK's output\n{}", self.describe()))
    }

    /// A request file the SDK wrote, decoded as the server decodes it.
    pub fn request_file(&self, name: &str) -> DecodedRequest {
        decode_request(Some("text/plain"), self.text(name).as_bytes())
            .unwrap_or_else(|e| panic!("our decoder refuses the SDK's {name}: {e:?}\n{}", self.describe()))
    }

    /// The script ran the pinned SDK and every call it made succeeded.
    pub fn assert_success(&self) {
        assert!(
            self.status.success() && self.out.get("error").is_none(),
            "an SDK call failed\n{}",
            self.describe()
        );
        assert_eq!(self.out["sdk_version"], self.sdk_version, "{}", self.describe());
    }
}

/// A path in the repository.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a set-up script of `scripts/` (it installs what is missing and only checks it otherwise)
/// and returns the path it prints, once `ready` holds for it. `needs` says what the script needs,
/// for the failure message.
fn set_up(script: &str, needs: &str, ready: impl Fn(&Path) -> bool) -> PathBuf {
    let out = Command::new(repo(script))
        .output()
        .unwrap_or_else(|e| panic!("bash runs {script}: {e}"));
    assert!(
        out.status.success(),
        "{script} failed ({}); it needs {needs}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let path = PathBuf::from(String::from_utf8(out.stdout).expect("a UTF-8 path").trim());
    assert!(
        ready(&path),
        "{script} printed {path:?}, which is not what it sets up"
    );
    path
}

/// The official Python SDK's virtualenv interpreter (`scripts/python-sdk-venv.sh`, once per test
/// binary).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        set_up(
            "scripts/python-sdk-venv.sh",
            "python3 with venv and pip, and PyPI",
            |p| p.is_file(),
        )
    })
}

/// The official Node SDK's `node_modules` (`scripts/node-sdk.sh`, once per test binary).
pub fn node_modules() -> &'static Path {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    MODULES.get_or_init(|| {
        set_up(
            "scripts/node-sdk.sh",
            "Node.js and npm (or apt-get to install them) and the npm registry",
            |p| p.join("@licensespring/node-sdk").is_dir(),
        )
    })
}

/// Equal bytes, or a panic that shows where `RequestBuilder` in `style` and the SDK's file part.
pub fn assert_same_bytes(style: lsconform::protocol::Style, what: &str, ours: &[u8], sdk: &[u8]) {
    if ours == sdk {
        return;
    }
    let at = ours.iter().zip(sdk).take_while(|(a, b)| a == b).count();
    let around = |bytes: &[u8]| {
        String::from_utf8_lossy(&bytes[at.saturating_sub(40)..bytes.len().min(at + 40)]).into_owned()
    };
    panic!(
        "{what}: RequestBuilder ({style:?}) and the SDK differ at byte {at} (lengths {} and {})\n\
         ours: …{}…\n\
         SDK:  …{}…\n\
         ours in full: {}\n\
         SDK in full:  {}",
        ours.len(),
        sdk.len(),
        around(ours),
        around(sdk),
        String::from_utf8_lossy(ours),
        String::from_utf8_lossy(sdk),
    );
}
