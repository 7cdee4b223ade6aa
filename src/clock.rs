//! Where the suite and the reference server read the time: the system clock, or the system clock
//! shifted to read a chosen instant. A verdict that depends on the day (a date written with the
//! day unpadded, the last second of a year, 29 February) is reproduced on any day by running at
//! that instant.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// A clock: the system clock, the system clock shifted by a fixed offset (so that it reads a
/// chosen instant now and runs on from there), or a stopped clock that always reads one instant.
/// `Copy`, so one value can be handed to the reference server and to the suite alike, and both
/// read the same time.
///
/// ```
/// use lsconform::Clock;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// // 2028-02-29T23:59:50Z
/// let leap_day = UNIX_EPOCH + Duration::from_secs(1_835_481_590);
/// let clock = Clock::starting_at(leap_day);
/// let read = clock.now();
/// assert!(read >= leap_day && read < leap_day + Duration::from_secs(5), "it runs on from there");
/// assert_eq!(Clock::fixed(leap_day).now(), leap_day);
/// assert_eq!(Clock::default(), Clock::system());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Clock(Reading);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Reading {
    #[default]
    System,
    Ahead(Duration),
    Behind(Duration),
    Fixed(SystemTime),
}

impl Clock {
    /// The system clock ([`SystemTime::now`]).
    ///
    /// ```
    /// use lsconform::Clock;
    /// let before = std::time::SystemTime::now();
    /// assert!(Clock::system().now() >= before);
    /// ```
    pub const fn system() -> Clock {
        Clock(Reading::System)
    }

    /// The system clock shifted so that it reads `instant` now and runs on from there, at the
    /// system clock's pace.
    ///
    /// ```
    /// use lsconform::Clock;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let new_year = UNIX_EPOCH + Duration::from_secs(1_798_761_600); // 2027-01-01T00:00:00Z
    /// let clock = Clock::starting_at(new_year - Duration::from_secs(10));
    /// assert!(clock.now() < new_year);
    /// assert!(clock.now() + Duration::from_secs(10) >= new_year);
    /// ```
    pub fn starting_at(instant: SystemTime) -> Clock {
        match instant.duration_since(SystemTime::now()) {
            Ok(ahead) => Clock(Reading::Ahead(ahead)),
            Err(behind) => Clock(Reading::Behind(behind.duration())),
        }
    }

    /// A stopped clock: it reads `instant`, always (the fuzz targets, whose answers must not
    /// depend on when they run).
    ///
    /// ```
    /// use lsconform::Clock;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let clock = Clock::fixed(UNIX_EPOCH + Duration::from_secs(1_795_754_194));
    /// assert_eq!(clock.now(), clock.now());
    /// ```
    pub const fn fixed(instant: SystemTime) -> Clock {
        Clock(Reading::Fixed(instant))
    }

    /// The time it reads now.
    pub fn now(self) -> SystemTime {
        match self.0 {
            Reading::System => SystemTime::now(),
            Reading::Ahead(by) => SystemTime::now().checked_add(by).unwrap_or_else(SystemTime::now),
            Reading::Behind(by) => SystemTime::now()
                .checked_sub(by)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            Reading::Fixed(instant) => instant,
        }
    }

    /// Whether it is the system clock, unshifted.
    ///
    /// ```
    /// use lsconform::Clock;
    /// assert!(Clock::system().is_system());
    /// assert!(!Clock::starting_at(std::time::UNIX_EPOCH).is_system());
    /// ```
    pub fn is_system(self) -> bool {
        self.0 == Reading::System
    }
}

/// `system` (or `now`): the system clock; an RFC 3339 time (`2028-02-29T23:59:50Z`): the system
/// clock shifted to read that time now ([`Clock::starting_at`]), as `--clock` takes it.
///
/// ```
/// use lsconform::Clock;
/// assert_eq!("system".parse::<Clock>(), Ok(Clock::system()));
/// let clock: Clock = "2026-12-07T23:59:58Z".parse().unwrap();
/// assert!(!clock.is_system());
/// assert!("7 Dec 2026".parse::<Clock>().is_err());
/// ```
impl FromStr for Clock {
    type Err = String;

    fn from_str(text: &str) -> Result<Clock, String> {
        if matches!(text, "system" | "now") {
            return Ok(Clock::system());
        }
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(|t| Clock::starting_at(t.into()))
            .map_err(|e| format!("{text:?} is not an RFC 3339 time ({e}), nor `system`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_behind_the_system_clock_runs_on_from_its_instant() {
        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let clock = Clock::starting_at(long_ago);
        let read = clock.now();
        assert!(
            read >= long_ago && read < long_ago + Duration::from_secs(5),
            "{read:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() > read, "it runs");
    }

    #[test]
    fn a_clock_ahead_of_the_system_clock_runs_on_from_its_instant() {
        let later = SystemTime::now() + Duration::from_secs(400 * 86_400);
        let clock = Clock::starting_at(later);
        let read = clock.now();
        assert!(read >= later && read < later + Duration::from_secs(5), "{read:?}");
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() > read, "it runs");
    }
}
