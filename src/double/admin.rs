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

/// The prefix of every admin call; the endpoints live under `/api/v4/`.
pub const ADMIN_PREFIX: &str = "/__lsconform/";

/// Every call, for the answer to an unknown one.
const CALLS: &str = "GET|DELETE journal, GET|POST|DELETE faults, GET|POST|DELETE expectations, \
                     POST expectations/verify, POST reset";

/// Whether a path is an admin call's.
pub(crate) fn is_admin_path(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX)
}

/// Answers an admin call.
pub(crate) fn respond(shared: &Shared, state: &mut State, request: &Request) -> ResponseTemplate {
    let call = &request.url.path()[ADMIN_PREFIX.len()..];
    let method = &request.method;
    let result = match (call.trim_end_matches('/'), method) {
        ("journal", &Method::GET) => Ok(ok(json!({
            "received": state.received,
            "journal_cap": state.journal.cap(),
            "entries": state.journal.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        }))),
        ("journal", &Method::DELETE) => Ok(ok(json!({ "cleared": state.journal.clear() }))),
        ("faults", &Method::GET) => Ok(ok(faults(state))),
        ("faults", &Method::POST) => body::<FaultEntry>(request)
            .and_then(|entry| entry.fault().map_err(invalid))
            .map(|fault| {
                state.faults.push(fault);
                created(faults(state))
            }),
        ("faults", &Method::DELETE) => {
            let cleared = state.faults.len();
            state.faults.clear();
            Ok(ok(json!({ "cleared": cleared })))
        }
        ("expectations", &Method::GET) => Ok(ok(expectations(state))),
        ("expectations", &Method::POST) => body::<ExpectationEntry>(request)
            .and_then(|entry| entry.expectation().map_err(invalid))
            .map(|(requests, times)| {
                state.add_expectation(requests, times);
                created(expectations(state))
            }),
        ("expectations", &Method::DELETE) => {
            let cleared = state.expectations.len();
            state.expectations.clear();
            Ok(ok(json!({ "cleared": cleared })))
        }
        ("expectations/verify", &Method::POST) => verify(state),
        ("reset", &Method::POST) => {
            state.model = shared.configured_model();
            Ok(ok(json!({ "licenses": shared.configured_licenses.len() })))
        }
        ("journal" | "faults" | "expectations" | "expectations/verify" | "reset", _) => Err(error(
            405,
            format!("{method} is not a method of {ADMIN_PREFIX}{call}; the calls are: {CALLS}"),
        )),
        _ => Err(error(
            404,
            format!("no admin call {method} {ADMIN_PREFIX}{call}; the calls are: {CALLS}"),
        )),
    };
    result.unwrap_or_else(|e| e)
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn created(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(body)
}

fn error(status: u16, message: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "error": message }))
}

fn invalid(e: ConfigError) -> ResponseTemplate {
    let message = match e {
        ConfigError::Invalid(message) => message,
        other => other.to_string(),
    };
    error(400, message)
}

/// The request's body as one JSON value of `T`'s shape, or a 400 that says why not.
fn body<T: DeserializeOwned>(request: &Request) -> Result<T, ResponseTemplate> {
    serde_json::from_slice(&request.body).map_err(|e| error(400, format!("the body: {e}")))
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
fn verify(state: &State) -> Result<ResponseTemplate, ResponseTemplate> {
    if state.expectations.is_empty() {
        return Err(error(
            400,
            format!("no expectation to verify: add one with POST {ADMIN_PREFIX}expectations"),
        ));
    }
    let all = expectations(state)["expectations"].clone();
    match state.unmet_expectations() {
        None => Ok(ok(json!({ "met": true, "expectations": all }))),
        Some(report) => {
            let unmet: Vec<Value> = state
                .expectations
                .iter()
                .filter(|e| !e.is_met())
                .map(|e| e.to_json())
                .collect();
            Ok(ResponseTemplate::new(409).set_body_json(json!({
                "met": false,
                "unmet": unmet,
                "expectations": all,
                "report": report,
            })))
        }
    }
}
