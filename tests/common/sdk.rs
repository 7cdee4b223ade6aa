//! What a driver script of an official SDK (`tests/python_sdk/interop.py`,
//! `tests/node_sdk/interop.js`, …) reported: its exit status, the JSON it printed, its stderr.

use std::process::ExitStatus;

use lsconform::protocol::{decode_request, DecodedRequest};
use serde_json::Value;

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
