//! lsconform: a conformance kit for LicenseSpring's offline activation endpoint,
//! `POST /api/v4/activate_offline`.
//!
//! [`protocol`] is the wire contract as pure functions (no I/O, no clock); everything else in the
//! kit builds on it.
#![warn(missing_docs)]

pub mod protocol;
pub mod server;

#[doc(hidden)]
pub mod fuzzing {
    //! The input format of the `decode_request` fuzz target, shared with the test that replays
    //! its corpus: the Content-Type, a newline, then the body. A first line that is not text, or
    //! is empty, means no Content-Type.

    /// Splits a fuzz input into (Content-Type, body).
    pub fn split_decode_input(data: &[u8]) -> (Option<&str>, &[u8]) {
        match data.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let content_type = std::str::from_utf8(&data[..i])
                    .ok()
                    .filter(|s| !s.is_empty());
                (content_type, &data[i + 1..])
            }
            None => (None, data),
        }
    }
}
