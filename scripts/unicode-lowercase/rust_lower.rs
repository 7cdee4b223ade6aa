// What the Rust standard library's lower-casing does with each Unicode scalar value, one line per
// value where it does anything (see generate.sh): `<hex>\t<lowercase, hex, space-separated>\t<role>`.
// The lowercase is `char::to_lowercase` (the full mapping); the role is how the value takes part
// in the Final_Sigma context of `str::to_lowercase` (the only context-dependent mapping, Σ):
// `cased`, `ignorable` (case-ignorable), or `-`. The role is observed, not read from a table:
// `cased` when Σ after it is final, `ignorable` when Σ after `A` and it still is.
//
//   rustc -O scripts/unicode-lowercase/rust_lower.rs -o target/rust_lower && target/rust_lower
use std::io::Write;

fn main() {
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    writeln!(out, "# rust {:?}", char::UNICODE_VERSION).unwrap();
    for c in (0..=0x10_FFFFu32).filter_map(char::from_u32) {
        let lower: Vec<char> = c.to_lowercase().collect();
        let final_after = |prefix: &str| format!("{prefix}{c}\u{3a3}").to_lowercase().ends_with('\u{3c2}');
        let role = if final_after("") {
            "cased"
        } else if final_after("A") {
            "ignorable"
        } else {
            "-"
        };
        if lower != [c] || role != "-" {
            let hex: Vec<String> = lower.iter().map(|l| format!("{:04X}", *l as u32)).collect();
            writeln!(out, "{:04X}\t{}\t{role}", c as u32, hex.join(" ")).unwrap();
        }
    }
}
