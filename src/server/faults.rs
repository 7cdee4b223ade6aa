//! Named faults: each one a single, deliberate deviation from SPEC at the exact place of one rule.
//! `lsconform serve --fault NAME` turns one on; the conformance suite must catch every one of them,
//! which is how the project proves that each of its checks can fail.

use super::switches::{switches, Switches};

switches! {
    /// A deliberate deviation of the reference server.
    ///
    /// ```
    /// use lsconform::server::Fault;
    /// let f: Fault = "skip-inner-signature".parse().unwrap();
    /// assert_eq!(f, Fault::SkipInnerSignature);
    /// assert!("no-such-fault".parse::<Fault>().unwrap_err().contains("--list-faults"));
    /// ```
    pub enum Fault, listed by "lsconform serve --list-faults";

    WrongCodeForMissingHeaders => ("wrong-code-missing-headers", "§1a", "a missing Date or Authorization header is answered missing_parameters instead of missing_headers");
    SkipHeaderSignature => ("skip-header-signature", "§2", "the Authorization header's HMAC is not checked");
    AcceptStaleDate => ("accept-stale-date", "§2", "a Date header more than 15 minutes from the server clock is accepted");
    NoBodyCap => ("no-body-cap", "§3", "the body size cap is not enforced");
    CapBelowDeclared => ("cap-below-declared", "§3", "bodies are capped at half the declared cap, so a request file within it is refused 413");
    AcceptUrlSafeBase64 => ("accept-url-safe-base64", "§3", "request files in the URL-safe Base64 alphabet are accepted");
    DuplicateKeysLastWins => ("duplicate-keys-last-wins", "§3", "a key given twice in the payload is accepted, the last copy wins");
    AcceptAnyRequestKind => ("accept-any-request-kind", "§4", "the payload's request member is not checked, so files can be replayed across endpoints");
    SkipInnerSignature => ("skip-inner-signature", "§4", "the payload's inner signature is not checked");
    SkipOuterSignature => ("skip-outer-signature", "§4", "the schema-2 outer MAC is not checked");
    LeakLicenseExistence => ("leak-license-existence", "§4", "an unknown license is answered license_not_found before the payload signature is checked");
    ReactivationTakesSeat => ("reactivation-takes-seat", "§5.4", "a device that already holds a seat is refused when the seats are full");
    SeatsOffByOne => ("seats-off-by-one", "§5.4", "one activation more than max_activations is allowed");
    NonAtomicSeats => ("non-atomic-seats", "§5.4", "seats are counted and taken in two transactions, so concurrent activations overbook");
    DeactivationKeepsSeat => ("deactivation-keeps-seat", "§5", "deactivate_offline answers license_deactivated but the seat stays taken");
    ForgetIdempotence => ("forget-idempotence", "§5.5", "request ids are not remembered: no stored answer for a replay, no request_id_conflict");
    /// No HTTP exchange can see it (the page cache keeps the data for as long as the machine
    /// runs); `tests/reference_server/durability.rs` catches it by counting sync system calls.
    NoSync => ("no-sync", "§5.6", "acknowledged activations are not synced to disk (synchronous=OFF)");
    DropRequestId => ("drop-request-id", "§6", "the success answer does not echo request_id");
    ReorderSignedBody => ("reorder-signed-body", "§6", "license_signature_v2 is computed over the body with its members re-ordered");
    ErrorStatusMismatch => ("error-status-mismatch", "§7", "the error body's status differs from the HTTP status");
}

/// The faults a server runs with.
pub type Faults = Switches<Fault>;
