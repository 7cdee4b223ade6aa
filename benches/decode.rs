//! Decode + both signature checks of a typical schema-2 request file, against its unavoidable
//! parts timed in the same run: Base64 decode of the same body, one borrowed JSON parse of the
//! decoded bytes (each object's members read as `&RawValue`, the envelope's then the `request`
//! member's, no `Value` built), and two HMACs over the same inputs. The parse into a `Value`, the
//! slower yardstick, is printed beside it. A benchmark, never a test: it prints figures and the
//! ratio, and fails nothing. `cargo bench --bench decode`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lsconform::protocol::{
    decode_request, hmac_sha256, inner_signing_string, RequestBuilder, RequestKind, Style,
};
use serde_json::value::RawValue;

const SHARED_KEY: &str = "kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja";

fn typical_file() -> String {
    RequestBuilder::activation()
        .license_key("FUH3-4E7A-LZJL-7JTP")
        .hardware_id("A53F-0CBC-15FC-7E81-BF35-A720-A575-7C0C-8815-0463-DB78-E674-D140-CF15-85BB-EC01")
        .product("TP")
        .date("Fri, 27 Nov 2026 04:36:34 GMT")
        .request_id("2edf98fe-29cb-4c7c-b1fa-7ed7ea2acb6b")
        .field("is_vm", false)
        .field("sdk_ver", "PythonSDK 4.0.0")
        .style(Style::Python)
        .sign("11abafc3-10b2-474a-b818-aaaf97c7512e", SHARED_KEY)
        .text
}

/// Median time per call of `f` over `rounds` rounds of `iters` calls.
fn time(rounds: usize, iters: u32, mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters
        })
        .collect();
    samples.sort();
    samples[rounds / 2]
}

fn main() {
    let body = typical_file();
    let body = body.as_bytes();
    let json = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("the builder writes Base64");
    let decoded = decode_request(Some("text/plain"), body).expect("the builder writes a valid file");
    let request_bytes = decoded.request_bytes().expect("schema 2").to_vec();
    let checked = decoded.check(RequestKind::Activation).expect("complete");
    let signing = inner_signing_string(
        checked.date,
        checked.licensee.signing_value(),
        checked.hardware_id,
        checked.identity.value(),
    );

    let whole = || {
        let decoded = decode_request(Some("text/plain"), black_box(body)).expect("valid");
        let checked = decoded.check(RequestKind::Activation).expect("complete");
        checked.verify(black_box(SHARED_KEY)).expect("verifies");
    };
    let base64_part = || {
        black_box(
            base64::engine::general_purpose::STANDARD
                .decode(black_box(body))
                .expect("valid"),
        );
    };
    let value_parse = || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&json)).expect("valid"));
    };
    // What any decoder must do with the JSON: read each member of the envelope, then each member
    // of the signed `request` object, without building values.
    let json_part = || {
        type Members<'a> = BTreeMap<&'a str, &'a RawValue>;
        let envelope: Members = serde_json::from_slice(black_box(&json)).expect("valid");
        let request = envelope.get("request").expect("schema 2");
        black_box(serde_json::from_str::<Members>(request.get()).expect("an object"));
        black_box(envelope);
    };
    let hmac_part = || {
        black_box(hmac_sha256(black_box(SHARED_KEY), black_box(&request_bytes)));
        black_box(hmac_sha256(black_box(SHARED_KEY), black_box(signing.as_bytes())));
    };

    // Warm up, then interleave the measurements so that machine noise hits all of them alike.
    let (rounds, iters) = (31, 20_000);
    for _ in 0..3 {
        time(3, iters, whole);
    }
    let mut figures = [Duration::ZERO; 5];
    for _ in 0..3 {
        figures[0] += time(rounds, iters, whole);
        figures[1] += time(rounds, iters, base64_part);
        figures[2] += time(rounds, iters, json_part);
        figures[3] += time(rounds, iters, hmac_part);
        figures[4] += time(rounds, iters, value_parse);
    }
    let [whole_t, b64_t, json_t, hmac_t, value_t] = figures.map(|d| d / 3);
    let parts = b64_t + json_t + hmac_t;
    let value_parts = b64_t + value_t + hmac_t;
    println!(
        "request file: {} bytes of Base64, {} bytes of JSON",
        body.len(),
        json.len()
    );
    println!("decode + check + both signatures: {:>8.2?}", whole_t);
    println!("  Base64 decode alone:            {:>8.2?}", b64_t);
    println!("  one borrowed JSON parse alone:  {:>8.2?}", json_t);
    println!("  two HMAC-SHA256 alone:          {:>8.2?}", hmac_t);
    println!("  sum of the parts:               {:>8.2?}", parts);
    println!("  (one JSON parse into a Value:   {:>8.2?})", value_t);
    println!(
        "ratio whole / sum of parts: {:.2} (goal: at most 1.20); with a Value parse as the JSON part: {:.2}",
        whole_t.as_secs_f64() / parts.as_secs_f64(),
        whole_t.as_secs_f64() / value_parts.as_secs_f64()
    );
}
