//! SPEC §3, the Base64 of the request file [pinned, safety]: ASCII whitespace (space, tab, CR,
//! LF) is ignored anywhere; one leading UTF-8 byte-order mark is ignored; anything else outside
//! the standard alphabet, the URL-safe alphabet, wrong or missing padding and non-zero trailing
//! bits are refused with `authorization_missing_params`.
//!
//! Each rule is checked on `decode_request_file` (the exact decoded bytes) and on
//! `decode_request` (the exact error code a server answers).

use lsconform::protocol::{decode_request, decode_request_file, encode_request_file, ErrorCode};

const HARDWARE_ID: &str = "8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0";
const BOM: &str = "\u{feff}";

/// A payload of `3k + r` bytes whose Base64 holds both `+` and `/`: `r` = 0 has no padding,
/// 2 has `=`, 1 has `==`.
fn payload(padding: usize) -> String {
    let hostname = match padding {
        0 => "~~>?x",
        1 => "~~>?",
        2 => "~~>?xx",
        _ => unreachable!(),
    };
    let json = format!(r#"{{"product":"fooapp","hardware_id":"{HARDWARE_ID}","hostname":"{hostname}"}}"#);
    let text = encode_request_file(json.as_bytes());
    assert!(text.contains('+') && text.contains('/'), "{text}");
    assert_eq!(text.len() - text.trim_end_matches('=').len(), padding);
    json
}

/// The one-line Base64 of [`payload`].
fn text(padding: usize) -> String {
    encode_request_file(payload(padding).as_bytes())
}

/// The text cut into lines of `columns` characters, each ended by `eol`.
fn wrap(text: &str, columns: usize, eol: &str) -> String {
    text.as_bytes()
        .chunks(columns)
        .map(|line| format!("{}{eol}", std::str::from_utf8(line).unwrap()))
        .collect()
}

/// `body` decodes to exactly the payload of `padding`, on both entry points.
#[track_caller]
fn accepted(body: &[u8], padding: usize) {
    let json = payload(padding);
    assert_eq!(
        decode_request_file(body).map_err(|e| e.to_string()),
        Ok(json.clone().into_bytes()),
        "decode_request_file({:?})",
        String::from_utf8_lossy(body)
    );
    for content_type in [Some("text/plain"), None] {
        let decoded = decode_request(content_type, body)
            .unwrap_or_else(|e| panic!("decode_request({:?}): {e}", String::from_utf8_lossy(body)));
        assert_eq!(decoded.json, json.as_bytes());
        assert_eq!(decoded.payload.product.as_deref(), Some("fooapp"));
        assert_eq!(decoded.payload.hardware_id.as_deref(), Some(HARDWARE_ID));
    }
}

/// `body` is refused with `authorization_missing_params` on both entry points.
#[track_caller]
fn refused(body: &[u8]) {
    let shown = String::from_utf8_lossy(body);
    assert_eq!(
        decode_request_file(body).map_err(|e| e.code),
        Err(ErrorCode::AuthorizationMissingParams),
        "decode_request_file({shown:?})"
    );
    for content_type in [Some("text/plain"), None] {
        assert_eq!(
            decode_request(content_type, body).map(|_| ()).map_err(|e| e.code),
            Err(ErrorCode::AuthorizationMissingParams),
            "decode_request({shown:?})"
        );
    }
}

/// `text` with `insert` put at the start, in the middle, before the padding, inside the
/// padding (when there are two `=`) and at the end.
fn inserted_everywhere(text: &str, insert: &str) -> Vec<String> {
    let at = |i: usize| format!("{}{insert}{}", &text[..i], &text[i..]);
    let unpadded = text.trim_end_matches('=').len();
    let mut out = vec![at(0), at(1), at(text.len() / 2), at(unpadded), at(text.len())];
    if text.ends_with("==") {
        out.push(at(text.len() - 1));
    }
    out
}

// ---- whitespace --------------------------------------------------------------------------

#[test]
fn a_single_line_file_decodes() {
    for padding in 0..3 {
        accepted(text(padding).as_bytes(), padding);
    }
}

#[test]
fn a_trailing_newline_is_ignored() {
    // The Python SDK's users write the file with `print`, which appends one LF.
    for padding in 0..3 {
        accepted(format!("{}\n", text(padding)).as_bytes(), padding);
        accepted(format!("{}\n\n", text(padding)).as_bytes(), padding);
    }
}

#[test]
fn a_crlf_line_ending_is_ignored() {
    for padding in 0..3 {
        accepted(format!("{}\r\n", text(padding)).as_bytes(), padding);
    }
}

#[test]
fn a_file_wrapped_at_76_columns_with_crlf_decodes() {
    for padding in 0..3 {
        let wrapped = wrap(&text(padding), 76, "\r\n");
        assert!(wrapped.matches("\r\n").count() >= 2);
        accepted(wrapped.as_bytes(), padding);
        accepted(wrap(&text(padding), 76, "\n").as_bytes(), padding);
    }
}

#[test]
fn a_file_wrapped_at_64_columns_decodes() {
    for padding in 0..3 {
        let wrapped = wrap(&text(padding), 64, "\n");
        assert!(wrapped.matches('\n').count() >= 2);
        accepted(wrapped.as_bytes(), padding);
        accepted(wrap(&text(padding), 64, "\r\n").as_bytes(), padding);
    }
}

#[test]
fn spaces_anywhere_are_ignored() {
    for padding in 0..3 {
        for body in inserted_everywhere(&text(padding), "  ") {
            accepted(body.as_bytes(), padding);
        }
    }
}

#[test]
fn tabs_anywhere_are_ignored() {
    for padding in 0..3 {
        for body in inserted_everywhere(&text(padding), "\t") {
            accepted(body.as_bytes(), padding);
        }
    }
}

#[test]
fn carriage_returns_anywhere_are_ignored() {
    for padding in 0..3 {
        for body in inserted_everywhere(&text(padding), "\r") {
            accepted(body.as_bytes(), padding);
        }
    }
}

#[test]
fn line_feeds_anywhere_are_ignored() {
    for padding in 0..3 {
        for body in inserted_everywhere(&text(padding), "\n") {
            accepted(body.as_bytes(), padding);
        }
        // Between every two characters.
        let spread: String = text(padding).chars().flat_map(|c| [c, '\n']).collect();
        accepted(spread.as_bytes(), padding);
    }
}

#[test]
fn a_mix_of_all_four_whitespace_characters_is_ignored() {
    for padding in 0..3 {
        for body in inserted_everywhere(&text(padding), " \t\r\n") {
            accepted(body.as_bytes(), padding);
        }
    }
}

// ---- the byte-order mark ---------------------------------------------------------------

#[test]
fn a_leading_byte_order_mark_is_ignored() {
    for padding in 0..3 {
        accepted(format!("{BOM}{}", text(padding)).as_bytes(), padding);
        accepted(format!("{BOM}{}\r\n", text(padding)).as_bytes(), padding);
        accepted(
            format!("{BOM}{}", wrap(&text(padding), 76, "\r\n")).as_bytes(),
            padding,
        );
    }
}

#[test]
fn a_second_byte_order_mark_is_refused() {
    refused(format!("{BOM}{BOM}{}", text(0)).as_bytes());
}

#[test]
fn a_byte_order_mark_not_at_the_start_is_refused() {
    let t = text(1);
    refused(format!("{}{BOM}{}", &t[..8], &t[8..]).as_bytes());
    refused(format!("{t}{BOM}").as_bytes());
    refused(format!("{t}\n{BOM}").as_bytes());
    // Leading whitespace, then the mark: the mark is no longer leading.
    refused(format!("\n{BOM}{t}").as_bytes());
    refused(format!(" {BOM}{t}").as_bytes());
}

#[test]
fn other_byte_order_marks_and_a_truncated_one_are_refused() {
    let t = text(0);
    refused(&[b"\xFF\xFE".as_slice(), t.as_bytes()].concat());
    refused(&[b"\xFE\xFF".as_slice(), t.as_bytes()].concat());
    refused(&[b"\xEF\xBB".as_slice(), t.as_bytes()].concat());
}

// ---- characters outside the alphabet ---------------------------------------------------

#[test]
fn an_asterisk_is_refused() {
    for body in inserted_everywhere(&text(0), "*") {
        refused(body.as_bytes());
    }
}

#[test]
fn a_nul_byte_is_refused() {
    for body in inserted_everywhere(&text(1), "\0") {
        refused(body.as_bytes());
    }
}

#[test]
fn a_vertical_tab_is_not_whitespace_here() {
    for body in inserted_everywhere(&text(2), "\u{b}") {
        refused(body.as_bytes());
    }
}

#[test]
fn a_form_feed_is_not_whitespace_here() {
    for body in inserted_everywhere(&text(2), "\u{c}") {
        refused(body.as_bytes());
    }
}

#[test]
fn other_ascii_punctuation_is_refused() {
    for c in [".", ",", ":", "%", "\\", "\"", "!", "#", "~", "\u{7f}", "\u{1b}"] {
        refused(format!("{}{c}", text(0)).as_bytes());
        refused(format!("{c}{}", text(0)).as_bytes());
    }
}

#[test]
fn non_ascii_characters_are_refused() {
    // Unicode spaces are not ASCII whitespace, and letters outside ASCII are not Base64.
    for c in [
        "\u{a0}",
        "\u{3000}",
        "\u{2028}",
        "\u{85}",
        "\u{e9}",
        "\u{ff21}",
        "\u{1f600}",
    ] {
        for body in inserted_everywhere(&text(0), c) {
            refused(body.as_bytes());
        }
    }
    // Bytes that are not UTF-8 at all.
    for byte in [0x80u8, 0xC3, 0xFF] {
        let mut body = text(0).into_bytes();
        body.insert(10, byte);
        refused(&body);
    }
}

// ---- the alphabet ------------------------------------------------------------------------

#[test]
fn plus_and_slash_of_the_standard_alphabet_are_accepted() {
    let t = text(0);
    assert!(t.contains('+') && t.contains('/'));
    accepted(t.as_bytes(), 0);
}

#[test]
fn the_url_safe_alphabet_is_refused() {
    for padding in 0..3 {
        let t = text(padding);
        refused(t.replace('+', "-").as_bytes());
        refused(t.replace('/', "_").as_bytes());
        refused(t.replace('+', "-").replace('/', "_").as_bytes());
        // URL-safe and unpadded, as a JWT would write it.
        refused(
            t.replace('+', "-")
                .replace('/', "_")
                .trim_end_matches('=')
                .as_bytes(),
        );
    }
}

// ---- padding -----------------------------------------------------------------------------

#[test]
fn missing_padding_is_refused() {
    refused(text(1).trim_end_matches('=').as_bytes());
    refused(text(2).trim_end_matches('=').as_bytes());
    // Half of the `==`.
    refused(&text(2).as_bytes()[..text(2).len() - 1]);
    refused(format!("{}\n", text(2).trim_end_matches('=')).as_bytes());
    refused(b"QQ");
    refused(b"QUI");
}

#[test]
fn too_much_padding_is_refused() {
    refused(format!("{}=", text(0)).as_bytes());
    refused(format!("{}==", text(0)).as_bytes());
    refused(format!("{}====", text(0)).as_bytes());
    refused(format!("{}=", text(1)).as_bytes());
    refused(format!("{}=", text(2)).as_bytes());
    refused(b"QQ===");
    refused(b"QUI==");
}

#[test]
fn padding_in_the_middle_is_refused() {
    // Two padded texts one after the other.
    refused(format!("{}{}", text(1), text(0)).as_bytes());
    refused(format!("{}\n{}", text(2), text(2)).as_bytes());
    refused(b"QQ==QQ==");
    // `=` inside a quad.
    let t = text(0);
    refused(format!("{}={}", &t[..5], &t[6..]).as_bytes());
    refused(b"Q=Q=");
    refused(b"=QQ=");
}

#[test]
fn padding_alone_is_refused() {
    for body in [&b"="[..], b"==", b"===", b"====", b" = \n"] {
        refused(body);
    }
}

#[test]
fn a_truncated_text_is_refused() {
    let t = text(0);
    // One character short leaves 4k+3 characters: not a whole quad and no padding.
    refused(&t.as_bytes()[..t.len() - 1]);
    // 4k+1 characters can never be Base64.
    refused(&t.as_bytes()[..t.len() - 3]);
    refused(b"Q");
}

// ---- trailing bits -----------------------------------------------------------------------

#[test]
fn non_zero_trailing_bits_are_refused() {
    // `QQ==` is the one canonical spelling of "A"; `QR==` has the same first 8 bits.
    assert_eq!(decode_request_file(b"QQ==").unwrap(), b"A");
    for body in [&b"QR=="[..], b"QS==", b"QT==", b"QX==", b"Qf=="] {
        assert_eq!(
            decode_request_file(body).map_err(|e| e.code),
            Err(ErrorCode::AuthorizationMissingParams),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // `QUI=` is "AB"; `QUJ=` sets one of the two trailing bits.
    assert_eq!(decode_request_file(b"QUI=").unwrap(), b"AB");
    assert_eq!(
        decode_request_file(b"QUJ=").map_err(|e| e.code),
        Err(ErrorCode::AuthorizationMissingParams)
    );
}

#[test]
fn non_zero_trailing_bits_of_a_real_payload_are_refused() {
    // The same payload bytes a lenient decoder would read, spelled with trailing bits set.
    for padding in [1usize, 2] {
        let t = text(padding);
        accepted(t.as_bytes(), padding);
        let last = t.len() - padding - 1;
        let canonical = t.as_bytes()[last];
        for bit in 0..(2 * padding) {
            let mut body = t.clone().into_bytes();
            body[last] = bump(canonical, 1 << bit);
            refused(&body);
        }
    }
}

/// The Base64 character whose 6-bit value is `c`'s plus `delta`.
fn bump(c: u8, delta: u8) -> u8 {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let i = ALPHABET.iter().position(|&a| a == c).unwrap() as u8;
    ALPHABET[usize::from(i + delta) % 64]
}

// ---- empty text --------------------------------------------------------------------------

#[test]
fn empty_text_decodes_to_no_bytes() {
    assert_eq!(decode_request_file(b"").unwrap(), b"");
    assert_eq!(decode_request_file(b" \t\r\n").unwrap(), b"");
    assert_eq!(decode_request_file(BOM.as_bytes()).unwrap(), b"");
}

#[test]
fn an_empty_body_is_missing_parameters() {
    for content_type in [Some("text/plain"), None] {
        assert_eq!(
            decode_request(content_type, b"").map(|_| ()).map_err(|e| e.code),
            Err(ErrorCode::MissingParameters)
        );
    }
}

#[test]
fn a_body_of_only_whitespace_or_a_byte_order_mark_is_not_a_payload() {
    // Proper Base64 of nothing: the decoded bytes are no JSON object.
    for body in ["\n", "\r\n", " \t ", BOM, "\u{feff}\n"] {
        for content_type in [Some("text/plain"), None] {
            assert_eq!(
                decode_request(content_type, body.as_bytes())
                    .map(|_| ())
                    .map_err(|e| e.code),
                Err(ErrorCode::AuthorizationMissingParams),
                "{body:?}"
            );
        }
    }
}
