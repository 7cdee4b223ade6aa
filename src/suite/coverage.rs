//! Which case tests which rule of the catalogue (`fixtures/rules.toml`), on which endpoint and
//! transport: what `lsconform list --rules` prints and `docs/coverage.md` holds. A rule that applies
//! to an endpoint no case tests it on is *uncovered*, unless the catalogue says why a black-box
//! client cannot observe it.

use super::case::Endpoint;
use super::catalogue::Case;
use super::generate::Property;
use crate::protocol::{rules, RequestKind, Rule, Transport};

/// One citation: a case, check or property that tests a rule, on an endpoint and transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// The case's id.
    pub id: String,
    /// The endpoint of its requests (`None`: both, as the generated requests).
    pub endpoint: Option<RequestKind>,
    /// The transport of its request file (`None`: several).
    pub transport: Option<Transport>,
}

/// A rule and what tests it.
#[derive(Debug, Clone)]
pub struct RuleCoverage {
    /// The rule.
    pub rule: Rule,
    /// The cases, checks and properties that cite it.
    pub cited_by: Vec<Citation>,
}

impl RuleCoverage {
    /// What it lacks: each endpoint it applies to that nothing tests it on, each transport the
    /// catalogue asks for that nothing tests it on, or, for a rule of no endpoint (routes), any
    /// citation at all. Empty for a rule no client can observe.
    ///
    /// ```
    /// use lsconform::suite::{cases, coverage};
    /// let all = coverage::of(&cases().unwrap());
    /// let cap = all.iter().find(|c| c.rule.id == "body.cap").unwrap();
    /// assert!(cap.cited_by.iter().any(|c| c.id == "envelope/body-over-the-cap"));
    /// ```
    pub fn missing(&self) -> Vec<String> {
        if self.rule.unobservable.is_some() {
            return Vec::new();
        }
        let mut missing = Vec::new();
        if self.rule.endpoints.is_empty() && self.cited_by.is_empty() {
            missing.push("no case".to_owned());
        }
        for kind in self.rule.endpoints {
            if !self
                .cited_by
                .iter()
                .any(|c| c.endpoint.is_none_or(|e| e == *kind))
            {
                missing.push(format!("no case on {}", endpoint_name(*kind)));
            }
        }
        for transport in self.rule.transports {
            if !self.cited_by.iter().any(|c| c.transport == Some(*transport)) {
                missing.push(format!("no case with a {} body", transport_name(*transport)));
            }
        }
        missing
    }
}

fn endpoint_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Activation => "activate_offline",
        RequestKind::Deactivation => "deactivate_offline",
    }
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Raw => "raw",
        Transport::Multipart => "multipart",
    }
}

fn citation_of(case: &Case) -> Citation {
    let kind = match case.endpoint() {
        Endpoint::Activate => RequestKind::Activation,
        Endpoint::Deactivate => RequestKind::Deactivation,
    };
    let transport = match case {
        Case::Data(c) => match c.request.body.transport.as_deref() {
            Some(t) if t.starts_with("multipart") => Transport::Multipart,
            _ => Transport::Raw,
        },
        Case::Check(_) => Transport::Raw,
    };
    Citation {
        id: case.id().to_owned(),
        endpoint: Some(kind),
        transport: Some(transport),
    }
}

/// Every rule of the catalogue, in its order, with the cases of `cases` and the generated
/// properties that cite it.
pub fn of(cases: &[Case]) -> Vec<RuleCoverage> {
    rules::ALL
        .iter()
        .map(|rule| {
            let mut cited_by: Vec<Citation> = cases
                .iter()
                .filter(|c| c.rules().contains(rule))
                .map(citation_of)
                .collect();
            // Generated requests go to both endpoints, in every transport.
            cited_by.extend(
                Property::ALL
                    .iter()
                    .filter(|p| p.rules().contains(rule))
                    .map(|p| Citation {
                        id: p.id().to_owned(),
                        endpoint: None,
                        transport: None,
                    }),
            );
            RuleCoverage {
                rule: *rule,
                cited_by,
            }
        })
        .collect()
}

/// The catalogue for people, one block a rule: id, section, tag, severity, words, and the cases
/// citing it (or why none can).
pub fn terminal(coverage: &[RuleCoverage]) -> String {
    let mut out = String::new();
    for c in coverage {
        let r = &c.rule;
        out.push_str(&format!(
            "{:<36} {:<5} {:<6} {:<6} {}\n",
            r.id,
            r.spec,
            format!("{:?}", r.tag).to_lowercase(),
            format!("{:?}", r.severity()).to_uppercase(),
            r.what
        ));
        if let Some(why) = r.unobservable {
            out.push_str(&format!("    not observable: {why}\n"));
        } else {
            for m in c.missing() {
                out.push_str(&format!("    UNCOVERED: {m}\n"));
            }
        }
        let ids: Vec<&str> = c.cited_by.iter().map(|c| c.id.as_str()).collect();
        if !ids.is_empty() {
            out.push_str(&format!("    cited by {}\n", ids.join(", ")));
        }
    }
    let uncovered = coverage.iter().filter(|c| !c.missing().is_empty()).count();
    let unobservable = coverage.iter().filter(|c| c.rule.unobservable.is_some()).count();
    out.push_str(&format!(
        "\n{} rules: {} covered on every endpoint they apply to, {} not observable by a client, {} uncovered\n",
        coverage.len(),
        coverage.len() - uncovered - unobservable,
        unobservable,
        uncovered
    ));
    out
}

/// `docs/coverage.md`: the catalogue as a table, with the cases citing each rule on each endpoint.
pub fn markdown(coverage: &[RuleCoverage]) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from(
        "# Rule coverage\n\n\
         Generated by `lsconform list --rules --markdown` from the rule catalogue \
         (`fixtures/rules.toml`) and the cases that cite it; a test keeps it current. Each rule of \
         SPEC.md, the endpoints it applies to, and the cases, checks and generated properties that \
         test it there (`generated/*`: both endpoints). A rule no black-box client can observe says \
         why instead.\n\n\
         | rule | SPEC | tag | severity | activate_offline | deactivate_offline |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in coverage {
        let r = &c.rule;
        let on = |kind: RequestKind| -> String {
            if let Some(why) = r.unobservable {
                return format!("not observable: {}", cell(why));
            }
            let applies = r.endpoints.contains(&kind) || r.endpoints.is_empty();
            let ids: Vec<String> = c
                .cited_by
                .iter()
                .filter(|x| x.endpoint.is_none_or(|e| e == kind))
                .map(|x| format!("`{}`", x.id))
                .collect();
            match (applies, ids.is_empty()) {
                (false, true) => "—".to_owned(),
                (true, true) if r.endpoints.is_empty() => "—".to_owned(),
                (true, true) => "**uncovered**".to_owned(),
                _ => ids.join(", "),
            }
        };
        out.push_str(&format!(
            "| `{}` {} | {} | {} | {} | {} | {} |\n",
            r.id,
            cell(r.what),
            r.spec,
            format!("{:?}", r.tag).to_lowercase(),
            format!("{:?}", r.severity()).to_uppercase(),
            on(RequestKind::Activation),
            on(RequestKind::Deactivation),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coverage() -> Vec<RuleCoverage> {
        of(&super::super::cases().expect("the case files are valid"))
    }

    /// Issue "every rule of SPEC has a check": no rule applies to an endpoint (or asks for a
    /// transport) that no case tests it on, unless no client can observe it.
    #[test]
    fn every_rule_is_tested_on_every_endpoint_it_applies_to() {
        let uncovered: Vec<String> = coverage()
            .iter()
            .filter(|c| !c.missing().is_empty())
            .map(|c| format!("{} ({}): {}", c.rule.id, c.rule.what, c.missing().join(", ")))
            .collect();
        assert!(uncovered.is_empty(), "uncovered rules: {uncovered:#?}");
    }

    /// A rule no client can observe is cited by no case (a case citing it would claim to test it).
    #[test]
    fn no_case_cites_a_rule_no_client_can_observe() {
        let claimed: Vec<String> = coverage()
            .iter()
            .filter(|c| c.rule.unobservable.is_some() && !c.cited_by.is_empty())
            .map(|c| format!("{}: {:?}", c.rule.id, c.cited_by))
            .collect();
        assert!(claimed.is_empty(), "{claimed:#?}");
    }

    /// `docs/coverage.md` is what `lsconform list --rules --markdown` writes today.
    #[test]
    fn docs_coverage_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/coverage.md");
        let want = markdown(&coverage());
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/coverage.md is stale: run `cargo run -- list --rules --markdown > docs/coverage.md`"
        );
    }
}
