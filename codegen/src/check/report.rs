//! Printing a check: text for people, JSON for machines.
//!
//! The JSON document (`accord check --format json`) is one object:
//!
//! ```json
//! {
//!   "verdict": "error",
//!   "services": [{
//!     "service": "orders", "crate": "orders-contract", "version": "1.3.0",
//!     "against": {"version": "1.2.0", "descriptor": "published/orders/1.2.0/descriptor.json"},
//!     "bump": "minor", "changed_in_place": false,
//!     "verdict": "error", "reasons": ["..."], "notes": [],
//!     "changes": [{
//!       "rule": "request-body-narrowed", "breaking": "yes", "affects": ["clients"],
//!       "operation": "place_order", "location": "body", "path": "lines[].quantity",
//!       "type": "Line", "schema_change": "bound-tightened",
//!       "message": "now at most 100 (was at most 4294967295)"
//!     }]
//!   }]
//! }
//! ```

use serde_json::{json, Value};

use super::policy::{count, Level};
use super::rules::{Breaking, Change};
use super::{CheckReport, ServiceReport};

/// The report as JSON.
pub fn to_json(report: &CheckReport) -> Value {
    json!({
        "verdict": report.level(),
        "services": report.services.iter().map(service_json).collect::<Vec<_>>(),
    })
}

fn service_json(service: &ServiceReport) -> Value {
    json!({
        "service": service.service,
        "crate": service.package,
        "version": service.version,
        "against": service.against.as_ref().map(|a| json!({
            "version": a.version,
            "descriptor": a.descriptor.display().to_string(),
        })),
        "bump": service.bump.map(|b| b.as_str()),
        "changed_in_place": service.changed_in_place,
        "verdict": service.level,
        "reasons": service.reasons,
        "notes": service.notes,
        "changes": service.changes.iter().map(change_json).collect::<Vec<_>>(),
    })
}

/// One change as JSON.
pub fn change_json(change: &Change) -> Value {
    json!({
        "rule": change.rule,
        "breaking": change.breaking,
        "affects": change.affects,
        "operation": change.operation,
        "location": change.location.as_ref().map(|l| l.key()),
        "path": (!change.path.is_empty()).then_some(&change.path),
        "type": change.type_name,
        "schema_change": change.schema_change,
        "message": change.message,
    })
}

/// The report as text: a block per service, then a summary line.
pub fn to_text(report: &CheckReport) -> String {
    let mut out = String::new();
    for service in &report.services {
        out.push_str(&service_text(service));
        out.push('\n');
    }
    let errors = report
        .services
        .iter()
        .filter(|s| s.level == Level::Error)
        .count();
    let warnings = report
        .services
        .iter()
        .filter(|s| s.level == Level::Warning)
        .count();
    out.push_str(&format!(
        "{} checked: {}, {}\n",
        count(report.services.len(), "service"),
        count(errors, "error"),
        count(warnings, "warning")
    ));
    out
}

fn service_text(service: &ServiceReport) -> String {
    let mut out = format!(
        "{} {} ({})",
        service.service, service.version, service.package
    );
    match (&service.against, service.bump) {
        (Some(against), Some(bump)) => out.push_str(&format!(
            " against published {}{}\n",
            against.version,
            match bump.as_str() {
                "same" => ": the same version".to_owned(),
                "older" => ": an older version".to_owned(),
                step => format!(": a {step} version"),
            }
        )),
        _ => out.push('\n'),
    }
    let kind_width = service
        .changes
        .iter()
        .map(|c| kind(c.breaking).len())
        .max()
        .unwrap_or(0);
    let rule_width = service
        .changes
        .iter()
        .map(|c| c.rule.id().len())
        .max()
        .unwrap_or(0);
    for change in &service.changes {
        out.push_str(&format!(
            "  {:<kind_width$}  {:<rule_width$}  {}\n",
            kind(change.breaking),
            change.rule.id(),
            describe(change)
        ));
    }
    if service.against.is_some() && service.changes.is_empty() {
        out.push_str("  no changes\n");
    }
    for note in &service.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    if service.reasons.is_empty() {
        out.push_str(&format!("  {}\n", service.level.as_str()));
    }
    for reason in &service.reasons {
        out.push_str(&format!("  {}: {reason}\n", service.level.as_str()));
    }
    out
}

fn kind(breaking: Breaking) -> &'static str {
    match breaking {
        Breaking::Yes => "breaking",
        Breaking::Possibly => "possibly breaking",
        Breaking::No => "compatible",
    }
}

/// `place_order body `lines[].quantity` (Line): now at most 100 (was at
/// most 4294967295); breaks clients`.
pub fn describe(change: &Change) -> String {
    let mut out = change.operation.clone();
    if let Some(location) = &change.location {
        out.push(' ');
        out.push_str(&location.to_string());
    }
    if !change.path.is_empty() {
        out.push_str(&format!(" `{}`", change.path));
    }
    if let Some(name) = &change.type_name {
        out.push_str(&format!(" ({name})"));
    }
    out.push_str(": ");
    out.push_str(&change.message);
    let parties: Vec<&str> = change.affects.iter().map(|p| p.as_str()).collect();
    if let Some((last, rest)) = parties.split_last() {
        let parties = if rest.is_empty() {
            (*last).to_owned()
        } else {
            format!("{} and {last}", rest.join(", "))
        };
        out.push_str(&match change.breaking {
            Breaking::Yes => format!("; breaks {parties}"),
            Breaking::Possibly => format!("; may break {parties}"),
            Breaking::No => format!("; upgrade {parties} first"),
        });
    }
    out
}
