//! The standalone double's admin API (`lsconform mock --admin`): what a client test written in
//! another language needs of the double, over HTTP on the double's own port, under a prefix that
//! the endpoints never use (like WireMock's `/__admin`). JSON in and out.
//!
//! | call | what it does |
//! |---|---|
//! | `GET /__lsconform/journal` | the journal: decoded requests, with what they got |
//! | `DELETE /__lsconform/journal` | forgets the journal's entries |
//! | `GET /__lsconform/faults` | the faults still to fire |
//! | `POST /__lsconform/faults` | adds a fault (the configuration's `[[faults]]` shape, as JSON) |
//! | `DELETE /__lsconform/faults` | clears every fault |
//! | `GET /__lsconform/expectations` | the expectations, with their counts so far |
//! | `POST /__lsconform/expectations` | adds an expectation (`times` and the faults' filter), counting from then on |
//! | `DELETE /__lsconform/expectations` | clears every expectation |
//! | `POST /__lsconform/expectations/verify` | 200 when all are met, 409 listing the unmet |
//! | `POST /__lsconform/reset` | licenses, seats and handled request ids as configured |
//!
//! Admin calls are not requests to the double: they are not journaled, counted, matched by
//! faults or expectations. Off by default: a client under test that strayed under the prefix
//! must get the endpoints' `not_found`, never change the double.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use wiremock::http::Method;
use wiremock::{Request, ResponseTemplate};

use super::config::{ConfigError, ExpectationEntry, FaultEntry};
use super::respond::{Shared, State};

/// The prefix of every admin call (`lsconform mock --admin`); the endpoints live under
/// `/api/v4/`, so no request a client means for them is ever taken for an admin call.
///
/// ```
/// use lsconform::double::ADMIN_PREFIX;
/// use lsconform::protocol::RequestKind;
/// let journal = format!("http://127.0.0.1:8080{ADMIN_PREFIX}journal");
/// assert_eq!(journal, "http://127.0.0.1:8080/__lsconform/journal");
/// assert!(!RequestKind::Activation.path().starts_with(ADMIN_PREFIX));
/// ```
pub const ADMIN_PREFIX: &str = "/__lsconform/";

/// Every call, for the answer to an unknown one.
const CALLS: &str = "GET|DELETE journal, GET|POST|DELETE faults, GET|POST|DELETE expectations, \
                     POST expectations/verify, POST reset";

/// Whether a path is an admin call's.
pub(crate) fn is_admin_path(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX)
}

/// An admin call that cannot be answered: its status and what was wrong.
struct Failure {
    status: u16,
    message: String,
}

/// An admin call's answer: its status and JSON body.
type Answer = Result<(u16, Value), Failure>;

/// Answers an admin call.
pub(crate) fn respond(shared: &Shared, state: &mut State, request: &Request) -> ResponseTemplate {
    let (status, body) =
        answer(shared, state, request).unwrap_or_else(|f| (f.status, json!({ "error": f.message })));
    ResponseTemplate::new(status).set_body_json(body)
}

fn answer(shared: &Shared, state: &mut State, request: &Request) -> Answer {
    let call = &request.url.path()[ADMIN_PREFIX.len()..];
    let method = &request.method;
    match (call.trim_end_matches('/'), method) {
        ("journal", &Method::GET) => Ok((
            200,
            json!({
                "received": state.received,
                "journal_cap": state.journal.cap(),
                "entries": state.journal.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            }),
        )),
        ("journal", &Method::DELETE) => Ok((200, json!({ "cleared": state.journal.clear() }))),
        ("faults", &Method::GET) => Ok((200, faults(state))),
        ("faults", &Method::POST) => {
            let fault = body::<FaultEntry>(request)?.fault().map_err(invalid)?;
            state.faults.push(fault);
            Ok((201, faults(state)))
        }
        ("faults", &Method::DELETE) => {
            let cleared = state.faults.len();
            state.faults.clear();
            Ok((200, json!({ "cleared": cleared })))
        }
        ("expectations", &Method::GET) => Ok((200, expectations(state))),
        ("expectations", &Method::POST) => {
            let (requests, times) = body::<ExpectationEntry>(request)?
                .expectation()
                .map_err(invalid)?;
            state.add_expectation(requests, times);
            Ok((201, expectations(state)))
        }
        ("expectations", &Method::DELETE) => {
            let cleared = state.expectations.len();
            state.expectations.clear();
            Ok((200, json!({ "cleared": cleared })))
        }
        ("expectations/verify", &Method::POST) => verify(state),
        ("reset", &Method::POST) => {
            state.model = shared.configured_model();
            Ok((200, json!({ "licenses": shared.configured_licenses.len() })))
        }
        ("journal" | "faults" | "expectations" | "expectations/verify" | "reset", _) => Err(Failure {
            status: 405,
            message: format!("{method} is not a method of {ADMIN_PREFIX}{call}; the calls are: {CALLS}"),
        }),
        _ => Err(Failure {
            status: 404,
            message: format!("no admin call {method} {ADMIN_PREFIX}{call}; the calls are: {CALLS}"),
        }),
    }
}

fn invalid(e: ConfigError) -> Failure {
    let message = match e {
        ConfigError::Invalid(message) => message,
        other => other.to_string(),
    };
    Failure { status: 400, message }
}

/// The request's body as one JSON value of `T`'s shape, or a 400 that says why not.
fn body<T: DeserializeOwned>(request: &Request) -> Result<T, Failure> {
    serde_json::from_slice(&request.body).map_err(|e| Failure {
        status: 400,
        message: format!("the body: {e}"),
    })
}

fn faults(state: &State) -> Value {
    json!({ "faults": state.faults.iter().map(|f| f.to_json()).collect::<Vec<_>>() })
}

fn expectations(state: &State) -> Value {
    json!({ "expectations": state.expectations.iter().map(|e| e.to_json()).collect::<Vec<_>>() })
}

/// 200 with every expectation when all are met; 409 with the unmet ones and the report the
/// in-process double panics with. With no expectation there is nothing to verify: a 400, so that
/// a test that forgot to add its expectations does not pass.
fn verify(state: &State) -> Answer {
    if state.expectations.is_empty() {
        return Err(Failure {
            status: 400,
            message: format!("no expectation to verify: add one with POST {ADMIN_PREFIX}expectations"),
        });
    }
    let all = expectations(state)["expectations"].clone();
    match state.unmet_expectations() {
        None => Ok((200, json!({ "met": true, "expectations": all }))),
        Some(report) => {
            let unmet: Vec<Value> = state
                .expectations
                .iter()
                .filter(|e| !e.is_met())
                .map(|e| e.to_json())
                .collect();
            Ok((
                409,
                json!({ "met": false, "unmet": unmet, "expectations": all, "report": report }),
            ))
        }
    }
}
