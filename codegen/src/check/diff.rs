//! Comparing two descriptors operation by operation.
//!
//! Operations are paired by name; an old operation whose name is gone is
//! paired with a new one of the same kind and binding (method and path, or
//! topic) as a rename. Each pair is compared by its bindings, then by its
//! schemas:
//!
//! - what a caller sends (body, path, query and header parameters) by the
//!   backward rule: the new server must accept every request the old
//!   contract allowed, so the old schema must be a subset of the new one;
//! - what a caller or subscriber reads (responses, errors, event payloads)
//!   by the forward rule: old readers must accept every value the new
//!   contract produces, so the new schema must be a subset of the old one.
//!
//! Each schema pair is also compared the other way round, which finds the
//! compatible changes (a widened request, a narrowed response) that call
//! for a minor version.

use std::collections::{BTreeMap, BTreeSet};

use accord::descriptor::{
    ErrorDescriptor, EventDescriptor, OperationDescriptor, OperationKind, ParamDescriptor,
    RequestDescriptor,
};
use accord::spec::bound_integer_formats;
use accord::ServiceDescriptor;
use serde_json::Value;

use super::issue::{render_path, Issue, Segment};
use super::rules::{Breaking, Change, Location, Party, Rule};
use super::subset::{Direction, Walker};

/// Every change from `old` to `new`, operation by operation in the old
/// contract's order, then the new operations.
pub fn compare(old: &ServiceDescriptor, new: &ServiceDescriptor) -> Vec<Change> {
    let old = normalize(old);
    let new = normalize(new);
    let mut comparison = Comparison::new(&old, &new);
    comparison.run();
    comparison.changes
}

/// Integer formats become explicit bounds, and parameters lose `null`:
/// a parameter is absent or a string on the wire, never JSON `null`.
fn normalize(descriptor: &ServiceDescriptor) -> ServiceDescriptor {
    let mut descriptor = descriptor.clone();
    descriptor
        .definitions
        .values_mut()
        .for_each(bound_integer_formats);
    for operation in &mut descriptor.operations {
        match &mut operation.kind {
            OperationKind::Request(request) => {
                let query = request.query.iter_mut().flat_map(|q| q.fields.iter_mut());
                for param in request
                    .path_params
                    .iter_mut()
                    .chain(request.headers.iter_mut())
                    .chain(query)
                {
                    bound_integer_formats(&mut param.schema);
                    strip_null(&mut param.schema);
                }
                if let Some(body) = &mut request.body {
                    bound_integer_formats(&mut body.schema);
                }
                if let Some(response) = &mut request.response {
                    bound_integer_formats(response);
                }
                if let Some(error) = &mut request.error {
                    bound_integer_formats(&mut error.schema);
                }
            }
            OperationKind::Event(event) => bound_integer_formats(&mut event.payload),
        }
    }
    descriptor
}

fn strip_null(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            map.insert("type".to_owned(), only);
        }
    }
    for keyword in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alternatives)) = map.get_mut(keyword) {
            alternatives.retain(|alt| alt.get("type") != Some(&Value::String("null".into())));
        }
    }
}

/// The operations of the two contracts, and the walkers comparing their
/// schemas in each direction.
struct Comparison<'a> {
    old: &'a ServiceDescriptor,
    new: &'a ServiceDescriptor,
    /// Old requests into new ones: breaking when it fails.
    backward: Walker<'a>,
    /// New requests into old ones: what the new contract accepts in addition.
    backward_reverse: Walker<'a>,
    /// New replies into old ones: breaking when it fails.
    forward: Walker<'a>,
    /// Old replies into new ones: what the new contract no longer produces.
    forward_reverse: Walker<'a>,
    changes: Vec<Change>,
}

/// The rules a schema location reports under.
#[derive(Debug, Clone, Copy)]
struct SchemaRules {
    /// When the new contract breaks readers or writers of it.
    breaking: Rule,
    /// When it changes compatibly.
    compatible: Rule,
    /// Who it breaks.
    breaks: &'static [Party],
    /// Who upgrades first for a compatible change.
    first: &'static [Party],
    /// Whether the backward rule applies (requests); else the forward rule.
    backward: bool,
}

const BODY: SchemaRules = SchemaRules {
    breaking: Rule::RequestBodyNarrowed,
    compatible: Rule::RequestBodyWidened,
    breaks: &[Party::Clients],
    first: &[Party::Servers],
    backward: true,
};
const PARAM: SchemaRules = SchemaRules {
    breaking: Rule::ParamNarrowed,
    compatible: Rule::ParamWidened,
    breaks: &[Party::Clients],
    first: &[Party::Servers],
    backward: true,
};
const RESPONSE: SchemaRules = SchemaRules {
    breaking: Rule::ResponseWidened,
    compatible: Rule::ResponseNarrowed,
    breaks: &[Party::Clients],
    first: &[Party::Servers],
    backward: false,
};
const ERROR: SchemaRules = SchemaRules {
    breaking: Rule::ErrorWidened,
    compatible: Rule::ErrorNarrowed,
    breaks: &[Party::Clients],
    first: &[Party::Servers],
    backward: false,
};
const PAYLOAD: SchemaRules = SchemaRules {
    breaking: Rule::EventPayloadWidened,
    compatible: Rule::EventPayloadNarrowed,
    breaks: &[Party::Subscribers],
    first: &[Party::Publishers],
    backward: false,
};

const ALL_PARTIES: &[Party] = &[
    Party::Clients,
    Party::Servers,
    Party::Publishers,
    Party::Subscribers,
];

impl<'a> Comparison<'a> {
    fn new(old: &'a ServiceDescriptor, new: &'a ServiceDescriptor) -> Comparison<'a> {
        let walker = |sub_is_old, serialized, defaults| {
            Walker::new(
                &old.definitions,
                &new.definitions,
                Direction {
                    sub_is_old,
                    serialized,
                    defaults,
                },
            )
        };
        Comparison {
            old,
            new,
            backward: walker(true, false, true),
            backward_reverse: walker(false, false, false),
            forward: walker(false, true, false),
            forward_reverse: walker(true, true, false),
            changes: Vec::new(),
        }
    }

    fn run(&mut self) {
        let (old, new) = (self.old, self.new);
        let old_names: BTreeSet<&str> = old.operations.iter().map(|op| op.name.as_str()).collect();
        let mut unmatched_new: Vec<&'a OperationDescriptor> = new
            .operations
            .iter()
            .filter(|op| !old_names.contains(op.name.as_str()))
            .collect();
        for op in &old.operations {
            if let Some(now) = new.operation(&op.name) {
                self.compare_operation(op, now);
                continue;
            }
            let renamed = unmatched_new
                .iter()
                .position(|candidate| binding(candidate) == binding(op));
            match renamed {
                Some(index) => {
                    let now = unmatched_new.remove(index);
                    let (affects, how) = match &op.kind {
                        OperationKind::Request(_) => (
                            Party::Clients,
                            format!(
                                "calls over a broker go to `{}.rpc.{}`, and generated clients name the new method",
                                new.name, now.name
                            ),
                        ),
                        OperationKind::Event(_) => (
                            Party::Subscribers,
                            "the topic is the same, but generated subscriber code names the new method"
                                .to_owned(),
                        ),
                    };
                    self.changes.push(Change::new(
                        Rule::OperationRenamed,
                        &op.name,
                        &[affects],
                        format!("renamed to `{}`: {how}", now.name),
                    ));
                    self.compare_operation(op, now);
                }
                None => {
                    let affects = match &op.kind {
                        OperationKind::Request(_) => Party::Clients,
                        OperationKind::Event(_) => Party::Subscribers,
                    };
                    self.changes.push(Change::new(
                        Rule::OperationRemoved,
                        &op.name,
                        &[affects],
                        format!("{} removed", describe_operation(op)),
                    ));
                }
            }
        }
        for op in unmatched_new {
            let first = match &op.kind {
                OperationKind::Request(_) => Party::Servers,
                OperationKind::Event(_) => Party::Publishers,
            };
            self.changes.push(Change::new(
                Rule::OperationAdded,
                &op.name,
                &[first],
                format!("{} added", describe_operation(op)),
            ));
        }
    }

    fn compare_operation(&mut self, old: &'a OperationDescriptor, new: &'a OperationDescriptor) {
        match (&old.kind, &new.kind) {
            (OperationKind::Request(a), OperationKind::Request(b)) => {
                self.compare_requests(&old.name, a, b)
            }
            (OperationKind::Event(a), OperationKind::Event(b)) => {
                self.compare_events(&old.name, a, b)
            }
            _ => self.changes.push(Change::new(
                Rule::KindChanged,
                &old.name,
                ALL_PARTIES,
                format!("was {}, now {}", with_article(old), with_article(new)),
            )),
        }
    }

    fn compare_requests(
        &mut self,
        name: &str,
        old: &'a RequestDescriptor,
        new: &'a RequestDescriptor,
    ) {
        let clients = &[Party::Clients];
        if old.method != new.method {
            self.changes.push(Change::new(
                Rule::MethodChanged,
                name,
                clients,
                format!("method changed from {} to {}", old.method, new.method),
            ));
        }
        if old.path != new.path {
            let note = if path_shape(&old.path) == path_shape(&new.path) {
                " (only parameter names differ: HTTP calls still match, but calls over a broker name each parameter)"
            } else {
                ""
            };
            self.changes.push(Change::new(
                Rule::PathChanged,
                name,
                clients,
                format!("path changed from `{}` to `{}`{note}", old.path, new.path),
            ));
        }
        if old.status != new.status {
            self.changes.push(Change::new(
                Rule::SuccessStatusChanged,
                name,
                clients,
                format!(
                    "success status changed from {} to {}",
                    old.status, new.status
                ),
            ));
        }
        match (old.idempotent, new.idempotent) {
            (true, false) => self.changes.push(Change::new(
                Rule::IdempotencyDropped,
                name,
                clients,
                "no longer idempotent: clients that retry it may now repeat its effect".to_owned(),
            )),
            (false, true) => self.changes.push(Change::new(
                Rule::IdempotencyAdded,
                name,
                &[Party::Servers],
                "now idempotent: clients may retry it".to_owned(),
            )),
            _ => {}
        }
        self.changes.extend(super::auth::compare_auth(
            name,
            old.auth.as_ref(),
            new.auth.as_ref(),
        ));

        // Path parameters: a parameter added or removed changed the path.
        for param in &old.path_params {
            if let Some(now) = new.path_params.iter().find(|p| p.name == param.name) {
                self.compare_param(name, Location::PathParam(param.name.clone()), param, now);
            }
        }
        let old_query = old.query.as_ref().map_or(&[][..], |q| q.fields.as_slice());
        let new_query = new.query.as_ref().map_or(&[][..], |q| q.fields.as_slice());
        self.compare_params(
            name,
            old_query,
            new_query,
            |p| p.name.clone(),
            Location::Query,
        );
        self.compare_params(
            name,
            &old.headers,
            &new.headers,
            |p| p.name.to_ascii_lowercase(),
            Location::Header,
        );

        match (&old.body, &new.body) {
            (None, Some(_)) => self.changes.push(
                Change::new(
                    Rule::RequestBodyAdded,
                    name,
                    clients,
                    "now takes a body, which old clients do not send".to_owned(),
                )
                .at(Location::Body),
            ),
            (Some(_), None) => self.changes.push(
                Change::new(
                    Rule::RequestBodyRemoved,
                    name,
                    clients,
                    "no longer takes a body: what old clients send is ignored".to_owned(),
                )
                .at(Location::Body),
            ),
            (Some(a), Some(b)) => {
                self.compare_schema(name, Location::Body, BODY, &a.schema, &b.schema)
            }
            (None, None) => {}
        }

        match (&old.response, &new.response) {
            (None, Some(_)) => self.changes.push(
                Change::new(
                    Rule::ResponseAdded,
                    name,
                    &[Party::Servers],
                    "now returns a value".to_owned(),
                )
                .at(Location::Response),
            ),
            (Some(_), None) => self.changes.push(
                Change::new(
                    Rule::ResponseRemoved,
                    name,
                    clients,
                    "no longer returns a value: old clients expect one".to_owned(),
                )
                .at(Location::Response),
            ),
            (Some(a), Some(b)) => self.compare_schema(name, Location::Response, RESPONSE, a, b),
            (None, None) => {}
        }

        match (&old.error, &new.error) {
            (None, Some(error)) => self.changes.push(
                Change::new(
                    Rule::ErrorAdded,
                    name,
                    clients,
                    format!(
                        "now fails with a typed error ({}) old clients cannot read",
                        variant_list(error)
                    ),
                )
                .at(Location::Error),
            ),
            (Some(_), None) => self.changes.push(
                Change::new(
                    Rule::ErrorRemoved,
                    name,
                    &[Party::Servers],
                    "no longer fails with a typed error".to_owned(),
                )
                .at(Location::Error),
            ),
            (Some(a), Some(b)) => self.compare_errors(name, a, b),
            (None, None) => {}
        }
    }

    fn compare_params(
        &mut self,
        name: &str,
        old: &'a [ParamDescriptor],
        new: &'a [ParamDescriptor],
        key: impl Fn(&ParamDescriptor) -> String,
        location: impl Fn(String) -> Location,
    ) {
        let clients = &[Party::Clients];
        for param in old {
            let at = location(param.name.clone());
            match new.iter().find(|p| key(p) == key(param)) {
                Some(now) => self.compare_param(name, at, param, now),
                None => self.changes.push(
                    Change::new(
                        Rule::ParamRemoved,
                        name,
                        clients,
                        "removed: old clients still send it, and it is ignored".to_owned(),
                    )
                    .at(at),
                ),
            }
        }
        for param in new.iter().filter(|p| !old.iter().any(|o| key(o) == key(p))) {
            let at = location(param.name.clone());
            let change = if param.required {
                Change::new(
                    Rule::ParamAddedRequired,
                    name,
                    clients,
                    "added as required: old clients do not send it".to_owned(),
                )
            } else {
                Change::new(
                    Rule::ParamAdded,
                    name,
                    &[Party::Servers],
                    "added as optional".to_owned(),
                )
            };
            self.changes.push(change.at(at));
        }
    }

    fn compare_param(
        &mut self,
        name: &str,
        at: Location,
        old: &'a ParamDescriptor,
        new: &'a ParamDescriptor,
    ) {
        match (old.required, new.required) {
            (false, true) => self.changes.push(
                Change::new(
                    Rule::ParamBecameRequired,
                    name,
                    &[Party::Clients],
                    "became required: old clients may leave it out".to_owned(),
                )
                .at(at.clone()),
            ),
            (true, false) => self.changes.push(
                Change::new(
                    Rule::ParamBecameOptional,
                    name,
                    &[Party::Servers],
                    "became optional".to_owned(),
                )
                .at(at.clone()),
            ),
            _ => {}
        }
        if !old.required && !new.required {
            let (a, b) = (old.schema.get("default"), new.schema.get("default"));
            if a != b {
                let issue = Issue::unsure(super::issue::Fact::Default {
                    sub: a.cloned(),
                    sup: b.cloned(),
                });
                let (code, message) = issue.describe(true);
                self.changes.push(Change {
                    breaking: Breaking::Possibly,
                    schema_change: Some(code),
                    ..Change::new(Rule::DefaultChanged, name, &[Party::Clients], message)
                        .at(at.clone())
                });
            }
        }
        self.compare_schema(name, at, PARAM, &old.schema, &new.schema);
    }

    fn compare_errors(&mut self, name: &str, old: &'a ErrorDescriptor, new: &'a ErrorDescriptor) {
        let old_variants: BTreeMap<&str, u16> = old
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.status))
            .collect();
        let new_variants: BTreeMap<&str, u16> = new
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.status))
            .collect();
        let mut added = false;
        let mut removed = false;
        for variant in &new.variants {
            if !old_variants.contains_key(variant.name.as_str()) {
                added = true;
                self.changes.push(
                    Change::new(
                        Rule::ErrorVariantAdded,
                        name,
                        &[Party::Clients],
                        format!(
                            "variant `{}` ({}) added: old clients cannot read it",
                            variant.name, variant.status
                        ),
                    )
                    .at(Location::Error),
                );
            }
        }
        for variant in &old.variants {
            match new_variants.get(variant.name.as_str()) {
                None => {
                    removed = true;
                    self.changes.push(
                        Change::new(
                            Rule::ErrorVariantRemoved,
                            name,
                            &[Party::Servers],
                            format!("variant `{}` ({}) removed", variant.name, variant.status),
                        )
                        .at(Location::Error),
                    );
                }
                Some(status) if *status != variant.status => self.changes.push(
                    Change::new(
                        Rule::ErrorStatusChanged,
                        name,
                        &[Party::Clients],
                        format!(
                            "variant `{}` is now sent with status {} (was {})",
                            variant.name, status, variant.status
                        ),
                    )
                    .at(Location::Error),
                ),
                Some(_) => {}
            }
        }
        // The variants added or removed are reported above; the schema
        // comparison adds what changed inside the variants.
        let (breaking, compatible) = self.schema_issues(ERROR, &old.schema, &new.schema);
        let breaking = breaking
            .into_iter()
            .filter(|issue| !(added && issue.is_root_variant()))
            .collect();
        let compatible = compatible
            .into_iter()
            .filter(|issue| !(removed && issue.is_root_variant()))
            .collect();
        self.report(name, Location::Error, ERROR, breaking, compatible);
    }

    fn compare_events(&mut self, name: &str, old: &'a EventDescriptor, new: &'a EventDescriptor) {
        if old.topic != new.topic {
            self.changes.push(Change::new(
                Rule::TopicChanged,
                name,
                &[Party::Publishers, Party::Subscribers],
                format!(
                    "topic changed from `{}` to `{}`: subscribers of the old topic receive nothing",
                    old.topic, new.topic
                ),
            ));
        }
        if old.key != new.key {
            let key = |k: &Option<String>| match k {
                Some(k) => format!("`{k}`"),
                None => "none".to_owned(),
            };
            self.changes.push(Change::new(
                Rule::EventKeyChanged,
                name,
                &[Party::Subscribers],
                format!(
                    "ordering key changed from {} to {}: events are ordered per key",
                    key(&old.key),
                    key(&new.key)
                ),
            ));
        }
        self.compare_schema(name, Location::Payload, PAYLOAD, &old.payload, &new.payload);
    }

    /// The issues of one schema location: those that break, and those that
    /// are compatible changes.
    fn schema_issues(
        &mut self,
        rules: SchemaRules,
        old: &'a Value,
        new: &'a Value,
    ) -> (Vec<Issue>, Vec<Issue>) {
        if rules.backward {
            (
                self.backward.compare(old, new),
                self.backward_reverse.compare(new, old),
            )
        } else {
            (
                self.forward.compare(new, old),
                self.forward_reverse.compare(old, new),
            )
        }
    }

    fn compare_schema(
        &mut self,
        name: &str,
        at: Location,
        rules: SchemaRules,
        old: &'a Value,
        new: &'a Value,
    ) {
        let (breaking, compatible) = self.schema_issues(rules, old, new);
        self.report(name, at, rules, breaking, compatible);
    }

    fn report(
        &mut self,
        name: &str,
        at: Location,
        rules: SchemaRules,
        breaking: Vec<Issue>,
        compatible: Vec<Issue>,
    ) {
        // Which side of each check the old contract was.
        let (breaking_old, compatible_old) = if rules.backward {
            (true, false)
        } else {
            (false, true)
        };
        let broken: Vec<(Vec<Segment>, &'static str, &Issue)> = breaking
            .iter()
            .map(|issue| (issue.subject(), issue.describe(breaking_old).0, issue))
            .collect();
        for issue in &breaking {
            let (code, message) = issue.describe(breaking_old);
            let path = render_path(&issue.path);
            let (rule, affects) = if issue.is_default() {
                (Rule::DefaultChanged, rules.breaks)
            } else {
                (rules.breaking, rules.breaks)
            };
            let mut breaking = rule.breaking();
            if !issue.certain && breaking == Breaking::Yes {
                breaking = Breaking::Possibly;
            }
            self.changes.push(Change {
                rule,
                breaking,
                affects: affects.to_vec(),
                operation: name.to_owned(),
                location: Some(at.clone()),
                path,
                type_name: issue.type_name.clone(),
                schema_change: Some(code),
                message,
            });
        }
        for issue in &compatible {
            let (code, message) = issue.describe(compatible_old);
            // The same change seen from the other side: a type changed both
            // ways, a property removed from a closed object.
            let subject = issue.subject();
            let duplicate = broken.iter().any(|(s, c, other)| {
                *s == subject
                    && (*c == code
                        || other.is_types()
                        || issue.is_types()
                        || (other.is_property() && issue.is_property()))
            });
            if duplicate || issue.is_default() {
                continue;
            }
            let path = render_path(&issue.path);
            self.changes.push(Change {
                rule: rules.compatible,
                breaking: Breaking::No,
                affects: rules.first.to_vec(),
                operation: name.to_owned(),
                location: Some(at.clone()),
                path,
                type_name: issue.type_name.clone(),
                schema_change: Some(code),
                message,
            });
        }
    }
}

/// What pairs a renamed operation with its old self: the kind and the
/// method and path shape, or the topic.
fn binding(op: &OperationDescriptor) -> String {
    match &op.kind {
        OperationKind::Request(r) => format!("request {} {}", r.method, path_shape(&r.path)),
        OperationKind::Event(e) => format!("event {}", e.topic),
    }
}

/// The path with each `{name}` replaced by `{}`.
fn path_shape(path: &str) -> String {
    let mut shape = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                shape.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => shape.push(c),
        }
    }
    shape
}

fn describe_operation(op: &OperationDescriptor) -> String {
    match &op.kind {
        OperationKind::Request(r) => format!("request {} {}", r.method, r.path),
        OperationKind::Event(e) => format!("event on `{}`", e.topic),
    }
}

/// `a request POST /orders`, `an event on `orders.placed``.
fn with_article(op: &OperationDescriptor) -> String {
    match &op.kind {
        OperationKind::Request(_) => format!("a {}", describe_operation(op)),
        OperationKind::Event(_) => format!("an {}", describe_operation(op)),
    }
}

fn variant_list(error: &ErrorDescriptor) -> String {
    error
        .variants
        .iter()
        .map(|v| format!("`{}` {}", v.name, v.status))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn descriptor(operations: Value) -> ServiceDescriptor {
        serde_json::from_value(json!({
            "name": "shop", "version": "1.0.0", "operations": operations, "definitions": {}
        }))
        .unwrap()
    }

    fn get(name: &str, path: &str) -> Value {
        json!({"name": name, "kind": "request", "method": "GET", "path": path, "status": 200,
               "idempotent": true, "response": {"type": "string"}})
    }

    fn rules(changes: &[Change]) -> Vec<&'static str> {
        changes.iter().map(|c| c.rule.id()).collect()
    }

    #[test]
    fn paths_compare_by_shape_for_renames() {
        assert_eq!(
            path_shape("/orders/{id}/lines/{line}"),
            "/orders/{}/lines/{}"
        );
        let old = descriptor(json!([get("get", "/orders/{id}")]));
        let new = descriptor(json!([get("fetch", "/orders/{order_id}")]));
        assert_eq!(
            rules(&compare(&old, &new)),
            ["operation-renamed", "path-changed"]
        );
        // Another binding is a removal and an addition.
        let other = descriptor(json!([get("fetch", "/customers/{id}")]));
        assert_eq!(
            rules(&compare(&old, &other)),
            ["operation-removed", "operation-added"]
        );
    }

    #[test]
    fn parameters_are_never_null_on_the_wire() {
        let mut schema = json!({"type": ["integer", "null"], "minimum": 0});
        strip_null(&mut schema);
        assert_eq!(schema, json!({"type": "integer", "minimum": 0}));
        let mut schema = json!({"anyOf": [{"$ref": "#/$defs/Status"}, {"type": "null"}]});
        strip_null(&mut schema);
        assert_eq!(schema, json!({"anyOf": [{"$ref": "#/$defs/Status"}]}));
    }

    #[test]
    fn changes_carry_where_and_who() {
        let old = descriptor(json!([{"name": "put", "kind": "request", "method": "PUT",
            "path": "/a", "status": 204, "idempotent": true,
            "body": {"argument": "a", "schema": {"type": "object", "properties": {
                "n": {"type": "integer", "format": "uint32", "minimum": 0}}}}}]));
        let new = descriptor(json!([{"name": "put", "kind": "request", "method": "PUT",
            "path": "/a", "status": 204, "idempotent": true,
            "body": {"argument": "a", "schema": {"type": "object", "properties": {
                "n": {"type": "integer", "format": "uint8", "minimum": 0}}}}}]));
        let changes = compare(&old, &new);
        assert_eq!(changes.len(), 1);
        let change = &changes[0];
        assert_eq!(change.rule, Rule::RequestBodyNarrowed);
        assert_eq!(change.breaking, Breaking::Yes);
        assert_eq!(change.affects, [Party::Clients]);
        assert_eq!(change.location, Some(Location::Body));
        assert_eq!(change.path, "n");
        assert_eq!(change.schema_change, Some("bound-tightened"));
        assert_eq!(change.message, "now at most 255 (was at most 4294967295)");
    }
}
