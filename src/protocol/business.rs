//! The business rules of SPEC §5 as a pure function of a license's state, so the reference
//! server (SQLite) and the double (memory) decide alike.

use std::time::SystemTime;

use super::error::{ErrorCode, Rejection};

/// What SPEC §5.2–§5.4 read of a license and the requesting device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicenseState<'a> {
    /// Enabled.
    pub enabled: bool,
    /// Active.
    pub active: bool,
    /// A trial.
    pub is_trial: bool,
    /// `perpetual`, `consumption`, `subscription`, ….
    pub license_type: &'a str,
    /// The end of validity.
    pub valid_until: Option<SystemTime>,
    /// Seats.
    pub max_activations: u64,
    /// Seats taken.
    pub times_activated: u64,
    /// Whether the requesting device already holds a seat.
    pub device_holds_seat: bool,
}

/// What an accepted activation does to the seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// SPEC §5.4: the device already holds a seat; no extra seat.
    Held,
    /// A free seat is taken.
    Taken,
}

/// Whether a validity has ended at `now`.
pub fn is_expired(valid_until: Option<SystemTime>, now: SystemTime) -> bool {
    valid_until.is_some_and(|end| end <= now)
}

/// The seed: "we support trial, perpetual and consumption license types for offline activation".
pub fn activates_offline(license_type: &str) -> bool {
    matches!(license_type, "perpetual" | "consumption")
}

/// SPEC §5.2–§5.4, in their order: enabled, active, validity (a trial past its end is
/// `trial_expired`), the license type, then the seats.
///
/// ```
/// use std::time::SystemTime;
/// use lsconform::protocol::{activation_rules, ErrorCode, LicenseState, Seat};
/// let license = LicenseState {
///     enabled: true, active: true, is_trial: false, license_type: "perpetual", valid_until: None,
///     max_activations: 1, times_activated: 1, device_holds_seat: false,
/// };
/// let now = SystemTime::now();
/// assert_eq!(activation_rules(&license, now).unwrap_err().code, ErrorCode::LicenseActivatedMaxTimes);
/// let held = LicenseState { device_holds_seat: true, ..license };
/// assert_eq!(activation_rules(&held, now).unwrap(), Seat::Held);
/// ```
pub fn activation_rules(license: &LicenseState<'_>, now: SystemTime) -> Result<Seat, Rejection> {
    if !license.enabled {
        return Err(ErrorCode::LicenseNotEnabled.into());
    }
    if !license.active {
        return Err(ErrorCode::LicenseNotActive.into());
    }
    if is_expired(license.valid_until, now) {
        let code = if license.is_trial {
            ErrorCode::TrialExpired
        } else {
            ErrorCode::LicenseExpired
        };
        return Err(code.into());
    }
    if !activates_offline(license.license_type) {
        return Err(Rejection::new(
            ErrorCode::LicenseTypeNotSupportedOffline,
            license.license_type,
        ));
    }
    if license.device_holds_seat {
        return Ok(Seat::Held);
    }
    if license.times_activated >= license.max_activations {
        return Err(ErrorCode::LicenseActivatedMaxTimes.into());
    }
    Ok(Seat::Taken)
}
