//! Embeds the conformance cases of `fixtures/cases/` in the binary, so `lsconform run` works from
//! anywhere (`cargo install`), and a case file added is a case run; and turns the rule catalogue,
//! `fixtures/rules.toml`, into the constants of `lsconform::protocol::rules`, so that each rule of
//! SPEC is written once, as data, and a catalogue that does not hold together fails the build.

use std::path::Path;

fn collect(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(relative);
        }
    }
}

fn main() {
    // Read at run time, not baked in when the script is compiled: a build script compiled for one
    // checkout may be reused (same target directory) by another one.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("fixtures/cases");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    for f in &files {
        println!("cargo:rerun-if-changed={}", root.join(f).display());
    }
    let mut code = String::from(
        "/// Every case file under fixtures/cases, by path.\npub const CASE_FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        code.push_str(&format!(
            "    ({f:?}, include_str!({:?})),\n",
            root.join(f).display().to_string()
        ));
    }
    code.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("cases.rs"), code).expect("OUT_DIR is writable");
    let catalogue = Path::new(&manifest_dir).join("fixtures/rules.toml");
    println!("cargo:rerun-if-changed={}", catalogue.display());
    let text = std::fs::read_to_string(&catalogue).expect("fixtures/rules.toml is readable");
    let code = rules(&text).unwrap_or_else(|e| panic!("fixtures/rules.toml: {e}"));
    std::fs::write(Path::new(&out_dir).join("rules.rs"), code).expect("OUT_DIR is writable");
}

/// The constant that holds the rule `id`: `body.cap` is `BODY_CAP`.
fn const_name(id: &str) -> String {
    id.to_ascii_uppercase().replace(['.', '-'], "_")
}

/// The Rust source of the catalogue's constants, or what is wrong with it.
fn rules(text: &str) -> Result<String, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let entries = table
        .get("rule")
        .and_then(toml::Value::as_array)
        .ok_or("no [[rule]] entries")?;
    let mut seen = std::collections::BTreeSet::new();
    let (mut code, mut all) = (String::new(), String::new());
    for entry in entries {
        let entry = entry.as_table().ok_or("a [[rule]] that is not a table")?;
        let text_of = |name: &str| entry.get(name).and_then(toml::Value::as_str);
        let id = text_of("id").ok_or("a rule without an id")?;
        let known = [
            "id",
            "section",
            "tag",
            "safety",
            "should",
            "short",
            "words",
            "endpoints",
            "transports",
            "unobservable",
        ];
        if let Some(other) = entry.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("{id}: unknown member {other:?}"));
        }
        let valid_id = id.split_once('.').is_some_and(|(area, slug)| {
            !area.is_empty()
                && !slug.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        });
        if !valid_id || !seen.insert(id.to_owned()) {
            return Err(format!("{id}: ids are unique, `<area>.<slug>`, lowercase"));
        }
        let need = |name: &str| text_of(name).ok_or(format!("{id}: no {name}"));
        let (section, short, words) = (need("section")?, need("short")?, need("words")?);
        if !section.starts_with('§') {
            return Err(format!("{id}: section {section:?} is not a section of SPEC.md"));
        }
        let tag = match need("tag")? {
            "seed" => "Seed",
            "docs" => "Docs",
            "sdk" => "Sdk",
            "pinned" => "Pinned",
            other => return Err(format!("{id}: unknown tag {other:?}")),
        };
        let flag = |name: &str| entry.get(name).and_then(toml::Value::as_bool).unwrap_or(false);
        let list = |name: &str, allowed: &[(&str, &str)], default: &[&str]| -> Result<String, String> {
            let names: Vec<&str> = match entry.get(name) {
                None => default.to_vec(),
                Some(v) => v
                    .as_array()
                    .ok_or(format!("{id}: {name} is a list"))?
                    .iter()
                    .map(|v| v.as_str().ok_or(format!("{id}: {name} holds names")))
                    .collect::<Result<_, _>>()?,
            };
            let items: Vec<&str> = names
                .iter()
                .map(|n| {
                    allowed
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| *v)
                        .ok_or(format!("{id}: unknown {name} entry {n:?}"))
                })
                .collect::<Result<_, _>>()?;
            Ok(format!("&[{}]", items.join(", ")))
        };
        let endpoints = list(
            "endpoints",
            &[
                ("activate", "RequestKind::Activation"),
                ("deactivate", "RequestKind::Deactivation"),
            ],
            &["activate", "deactivate"],
        )?;
        let transports = list(
            "transports",
            &[("raw", "Transport::Raw"), ("multipart", "Transport::Multipart")],
            &[],
        )?;
        let unobservable = match text_of("unobservable") {
            Some(why) => format!("Some({why:?})"),
            None => "None".to_owned(),
        };
        let name = const_name(id);
        code.push_str(&format!(
            "/// `{id}` ({section}, {tag_word}): {short}.\npub const {name}: Rule = Rule {{\n    id: {id:?},\n    spec: {section:?},\n    tag: Tag::{tag},\n    safety: {safety},\n    should: {should},\n    what: {short:?},\n    words: {words:?},\n    endpoints: {endpoints},\n    transports: {transports},\n    unobservable: {unobservable},\n}};\n\n",
            tag_word = need("tag")?,
            safety = flag("safety"),
            should = flag("should"),
        ));
        all.push_str(&format!("    {name},\n"));
    }
    code.push_str(&format!(
        "/// Every rule of the catalogue, in the order of SPEC.\npub const ALL: &[Rule] = &[\n{all}];\n"
    ));
    Ok(code)
}
