//! The double's licenses and the business rules of SPEC §5, in the reference server's order
//! (`server/pipeline.rs`), in memory.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::protocol::{
    activation_rules, format_http_date, format_validity_period, is_expired, ActivationAnswer, AnswerLicensee,
    CheckedRequest, ErrorCode, LicenseState, Licensee, ProductDetails, Rejection, Seat, SigningKey,
};

/// The product a [`License`] belongs to unless [`License::product`] says otherwise.
pub const DEFAULT_PRODUCT: &str = "TP";

/// A license the double knows: a key (or a user), its product, type, state and seats.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use lsconform::double::License;
/// let seats = License::perpetual("AAAA-BBBB-CCCC-DDDD").seats(2);
/// let trial = License::perpetual("TRIA-0000").trial().valid_until(SystemTime::now() + Duration::from_secs(86_400));
/// let refused = License::of_type("SUBS-0000", "subscription"); // license_type_not_supported_offline
/// let user = License::user("jane@example.com").product("fooapp");
/// let full = License::perpetual("FULL-0000").seats(1).activated_on("another-device");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    licensee: Holder,
    product: String,
    pub(crate) license_type: String,
    trial: bool,
    enabled: bool,
    active: bool,
    valid_until: Option<SystemTime>,
    pub(crate) seats: u64,
    activated_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Holder {
    Key(String),
    User(String),
}

impl License {
    /// A perpetual license key of [`DEFAULT_PRODUCT`], enabled, active, without end, one seat.
    pub fn perpetual(license_key: impl Into<String>) -> License {
        License::of_type(license_key, "perpetual")
    }

    /// A consumption license key (otherwise like [`perpetual`](Self::perpetual)).
    pub fn consumption(license_key: impl Into<String>) -> License {
        License::of_type(license_key, "consumption")
    }

    /// A license key of any `license_type`; types other than `perpetual` and `consumption` are
    /// refused offline (`license_type_not_supported_offline`, SPEC §5.3).
    pub fn of_type(license_key: impl Into<String>, license_type: impl Into<String>) -> License {
        License {
            licensee: Holder::Key(license_key.into()),
            product: DEFAULT_PRODUCT.to_owned(),
            license_type: license_type.into(),
            trial: false,
            enabled: true,
            active: true,
            valid_until: None,
            seats: 1,
            activated_on: Vec::new(),
        }
    }

    /// A perpetual user-based license (requests name its `username`; the password is not checked,
    /// as in the reference server).
    pub fn user(username: impl Into<String>) -> License {
        License {
            licensee: Holder::User(username.into()),
            ..License::perpetual("")
        }
    }

    /// Belongs to this product (short code) instead of [`DEFAULT_PRODUCT`].
    pub fn product(mut self, short_code: impl Into<String>) -> License {
        self.product = short_code.into();
        self
    }

    /// Has this many seats (`max_activations`).
    pub fn seats(mut self, seats: u64) -> License {
        self.seats = seats;
        self
    }

    /// Is a trial (past its end: `trial_expired`).
    pub fn trial(mut self) -> License {
        self.trial = true;
        self
    }

    /// Is disabled (`license_not_enabled`).
    pub fn disabled(mut self) -> License {
        self.enabled = false;
        self
    }

    /// Is not active (`license_not_active`).
    pub fn inactive(mut self) -> License {
        self.active = false;
        self
    }

    /// Is valid until this time (afterwards: `license_expired`, or `trial_expired` for a trial).
    pub fn valid_until(mut self, end: SystemTime) -> License {
        self.valid_until = Some(end);
        self
    }

    /// Starts with this device holding a seat. Repeatable.
    pub fn activated_on(mut self, hardware_id: impl Into<String>) -> License {
        self.activated_on.push(hardware_id.into());
        self
    }

    /// The license key, or the username.
    pub(crate) fn name(&self) -> &str {
        match &self.licensee {
            Holder::Key(k) | Holder::User(k) => k,
        }
    }
}

/// A license and its activations.
#[derive(Debug)]
struct Seats {
    license: License,
    /// Devices holding a seat (at most `seats` of them, so memory is bounded by the licenses).
    devices: Vec<String>,
    transfer_count: u64,
    /// A seat was freed by a deactivation: the next new device counts a transfer (as the reference).
    transfer_pending: bool,
}

/// How many handled request ids the double remembers for SPEC §5.5 (replays and conflicts); the
/// oldest is forgotten first, so memory stays bounded.
pub(crate) const REMEMBERED_REQUEST_IDS: usize = 1000;

/// Products, licenses and their seats, and the request ids handled lately.
#[derive(Debug)]
pub(crate) struct Model {
    products: HashMap<String, String>,
    licenses: HashMap<(String, Holder), Seats>,
    handled: HashMap<String, Handled>,
    handled_order: VecDeque<String>,
}

/// A request id that got a success answer: the digest of its payload, and that answer.
#[derive(Debug)]
struct Handled {
    payload_sha256: [u8; 32],
    answer: Accepted,
}

/// What an accepted request gets.
#[derive(Debug, Clone)]
pub(crate) enum Accepted {
    /// An activation answer, signed (SPEC §6).
    Activated(Vec<u8>),
    /// `license_deactivated`.
    Deactivated,
}

impl Model {
    pub(crate) fn new(products: &[(String, String)]) -> Model {
        Model {
            products: products.iter().cloned().collect(),
            licenses: HashMap::new(),
            handled: HashMap::new(),
            handled_order: VecDeque::new(),
        }
    }

    /// SPEC §5.5 [pinned, safety], first among the business rules as in the reference server: the
    /// same request id with the same payload gets the answer it got before (and takes no seat);
    /// with another payload, `request_id_conflict`.
    fn replayed(&self, request: &CheckedRequest<'_>, payload: &[u8]) -> Result<Option<Accepted>, Rejection> {
        let Some(handled) = request.request_id.and_then(|id| self.handled.get(id)) else {
            return Ok(None);
        };
        if handled.payload_sha256 != <[u8; 32]>::from(Sha256::digest(payload)) {
            return Err(Rejection::new(
                ErrorCode::RequestIdConflict,
                request.request_id.unwrap_or_default(),
            ));
        }
        Ok(Some(handled.answer.clone()))
    }

    /// Remembers a request id's success answer, forgetting the oldest beyond the bound.
    fn remember(&mut self, request: &CheckedRequest<'_>, payload: &[u8], answer: &Accepted) {
        let Some(id) = request.request_id else {
            return;
        };
        if self.handled_order.len() == REMEMBERED_REQUEST_IDS {
            if let Some(oldest) = self.handled_order.pop_front() {
                self.handled.remove(&oldest);
            }
        }
        self.handled_order.push_back(id.to_owned());
        self.handled.insert(
            id.to_owned(),
            Handled {
                payload_sha256: Sha256::digest(payload).into(),
                answer: answer.clone(),
            },
        );
    }

    pub(crate) fn add(&mut self, license: License) {
        self.products
            .entry(license.product.clone())
            .or_insert_with(|| license.product.clone());
        let mut devices: Vec<String> = Vec::new();
        for device in &license.activated_on {
            if !devices.contains(device) {
                devices.push(device.clone());
            }
        }
        self.licenses.insert(
            (license.product.clone(), license.licensee.clone()),
            Seats {
                license,
                devices,
                transfer_count: 0,
                transfer_pending: false,
            },
        );
    }

    /// SPEC §5.1: the product, then the license of that product.
    fn find(&mut self, request: &CheckedRequest<'_>) -> Result<(&str, &mut Seats), Rejection> {
        let product_name = self
            .products
            .get(request.product)
            .ok_or_else(|| Rejection::new(ErrorCode::UnknownProduct, request.product))?;
        let holder = match request.licensee {
            Licensee::LicenseKey(k) => Holder::Key(k.to_owned()),
            Licensee::User { username, .. } => Holder::User(username.to_owned()),
        };
        let seats = self
            .licenses
            .get_mut(&(request.product.to_owned(), holder))
            .ok_or_else(|| Rejection::from(ErrorCode::LicenseNotFound))?;
        Ok((product_name, seats))
    }

    /// SPEC §5.1–§5.5 for an activation, then SPEC §6: the signed answer. `payload` is the
    /// request file's decoded JSON (a replay must be the same bytes).
    pub(crate) fn activate(
        &mut self,
        request: &CheckedRequest<'_>,
        payload: &[u8],
        keys: (&str, &str, &SigningKey),
        now: SystemTime,
    ) -> Result<Accepted, Rejection> {
        if let Some(answer) = self.replayed(request, payload)? {
            return Ok(answer);
        }
        let answer = self.activation_answer(request, keys, now)?;
        self.remember(request, payload, &answer);
        Ok(answer)
    }

    fn activation_answer(
        &mut self,
        request: &CheckedRequest<'_>,
        (api_key, shared_key, signing_key): (&str, &str, &SigningKey),
        now: SystemTime,
    ) -> Result<Accepted, Rejection> {
        let (product_name, seats) = self.find(request)?;
        let license = &seats.license;
        // SPEC §5.2–§5.4, decided as the reference server decides them.
        let already = seats.devices.iter().any(|d| d == request.hardware_id);
        let state = LicenseState {
            enabled: license.enabled,
            active: license.active,
            is_trial: license.trial,
            license_type: &license.license_type,
            valid_until: license.valid_until,
            max_activations: license.seats,
            times_activated: seats.devices.len() as u64,
            device_holds_seat: already,
        };
        let is_expired = is_expired(license.valid_until, now);
        if activation_rules(&state, now)? == Seat::Taken {
            seats.devices.push(request.hardware_id.to_owned());
            seats.transfer_count += u64::from(seats.transfer_pending);
            seats.transfer_pending = false;
        }
        let by_username = matches!(request.licensee, Licensee::User { .. });
        let licensee = request.licensee.signing_value().to_owned();
        let answer = ActivationAnswer {
            licensee: if by_username {
                AnswerLicensee::Username(licensee)
            } else {
                AnswerLicensee::LicenseKey(licensee)
            },
            hardware_id: request.hardware_id.to_owned(),
            product_details: ProductDetails {
                short_code: license.product.clone(),
                product_name: product_name.to_owned(),
                authorization_method: if by_username { "user" } else { "license-key" }.to_owned(),
            },
            license_type: license.license_type.clone(),
            is_trial: license.trial,
            license_enabled: license.enabled,
            license_active: license.active,
            is_expired,
            validity_period: license.valid_until.map(format_validity_period),
            max_activations: license.seats,
            times_activated: seats.devices.len() as u64,
            transfer_count: seats.transfer_count,
            request_id: request.request_id.map(str::to_owned),
            date: format_http_date(now),
        };
        Ok(Accepted::Activated(answer.sign(api_key, shared_key, signing_key)))
    }

    /// SPEC §1 (deactivate_offline) and §5: frees the device's seat; no seat → `device_not_found`.
    pub(crate) fn deactivate(
        &mut self,
        request: &CheckedRequest<'_>,
        payload: &[u8],
    ) -> Result<Accepted, Rejection> {
        if let Some(answer) = self.replayed(request, payload)? {
            return Ok(answer);
        }
        let (_, seats) = self.find(request)?;
        let before = seats.devices.len();
        seats.devices.retain(|d| d != request.hardware_id);
        if seats.devices.len() == before {
            return Err(ErrorCode::DeviceNotFound.into());
        }
        seats.transfer_pending = true;
        self.remember(request, payload, &Accepted::Deactivated);
        Ok(Accepted::Deactivated)
    }
}
