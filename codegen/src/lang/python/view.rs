//! The Python view model: what the Python templates receive.
//!
//! Built from the language-neutral [`view::ServiceView`]: the package's
//! names and version, the models and type aliases in declaration order
//! (models first, since their annotations are evaluated late; aliases in
//! dependency order), one exception per typed error, the request methods
//! with their parameters and the event topics. `codegen/TEMPLATES.md`
//! documents every field; a field that is absent is `null`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::names::{
    constant, distribution_name, method_name, module_name, parameter_name, pascal, type_name,
};
use super::types::{literal_text, Mapper};
use crate::view::{self, Argument, PathSegment, Shape, Ty};

/// The oldest Python the client runs on.
pub const REQUIRES_PYTHON: &str = ">=3.10";

/// What the client needs, as pip requirements.
pub const DEPENDENCIES: &[&str] = &[
    "anyio>=4",
    "httpx>=0.27,<1",
    "pydantic>=2.11,<3",
    "typing-extensions>=4.6",
];

/// What builds the package.
pub const BUILD_REQUIRES: &str = "setuptools>=61";

/// Everything the Python templates are rendered with, for one service and version.
#[derive(Debug, Clone, Serialize)]
pub struct PythonView {
    /// The service.
    pub service: ServiceInfo,
    /// The package.
    pub package: Package,
    /// The module's docstring.
    pub module_doc: String,
    /// The client class's docstring.
    pub client_doc: String,
    /// Names the module declares besides the contract's types.
    pub names: ClientNames,
    /// Every name in the module's `__all__`, sorted.
    pub exports: Vec<String>,
    /// The model classes, in declaration order.
    pub models: Vec<ModelView>,
    /// The type aliases, in dependency order.
    pub aliases: Vec<AliasView>,
    /// One exception class per typed error type.
    pub errors: Vec<ErrorView>,
    /// The `TypeAdapter`s the methods and events use.
    pub adapters: Vec<AdapterView>,
    /// The request methods, in declaration order.
    pub requests: Vec<RequestView>,
    /// The events, in declaration order.
    pub events: Vec<EventView>,
    /// The `type` URIs of accord's problem documents.
    pub problem_types: ProblemTypes,
}

/// The service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    /// The service name.
    pub name: String,
    /// The contract version.
    pub version: String,
    /// The trait's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph.
    pub summary: Option<String>,
    /// The contract crate.
    pub package: String,
    /// The Rust path of the service.
    pub rust_path: String,
}

/// The Python package.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    /// The import name (`orders_client`).
    pub module: String,
    /// The distribution name (`orders-client`).
    pub distribution: String,
    /// The package version: the contract version.
    pub version: String,
    /// A one-line description.
    pub description: String,
    /// The Python versions it supports (`>=3.10`).
    pub requires_python: String,
    /// Its requirements.
    pub dependencies: Vec<String>,
    /// What builds it.
    pub build_requires: String,
}

/// Names the module declares; each is the default unless a contract type
/// already has it, then it gets an `Accord` prefix.
#[derive(Debug, Clone, Serialize)]
pub struct ClientNames {
    /// `<Service>Client`.
    pub client: String,
    /// `ServiceError`.
    pub service_error: String,
    /// `ProblemError`.
    pub problem_error: String,
    /// `ProtocolError`.
    pub protocol_error: String,
    /// `Problem`.
    pub problem: String,
    /// `FieldError`.
    pub field_error: String,
    /// `Topics`.
    pub topics: String,
    /// `<Service>Events`.
    pub events: String,
    /// `EVENT_PAYLOADS`.
    pub event_payloads: String,
    /// `DEFAULT_TIMEOUT`.
    pub default_timeout: String,
    /// `DEFAULT_REPLY_LIMIT`.
    pub default_reply_limit: String,
}

/// A model class.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    /// The class name.
    pub name: String,
    /// Its docstring.
    pub docs: Option<String>,
    /// Whether it keeps undeclared properties (`extra="allow"`).
    pub extra: bool,
    /// The Python names of the fields the JSON may leave out.
    pub optional: Vec<String>,
    /// Its fields.
    pub fields: Vec<FieldView>,
}

/// A field of a model.
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    /// The Python name.
    pub name: String,
    /// The JSON name.
    pub json_name: String,
    /// The annotation.
    pub annotation: String,
    /// The default as Python source, or null for a required field.
    pub default: Option<String>,
    /// Its docstring.
    pub docs: Option<String>,
}

/// A type alias.
#[derive(Debug, Clone, Serialize)]
pub struct AliasView {
    /// The alias name.
    pub name: String,
    /// What it stands for.
    pub annotation: String,
    /// Its docstring.
    pub docs: Option<String>,
}

/// The exception of one typed error type.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// The exception class (`OrderErrorException`).
    pub exception: String,
    /// The typed error's annotation.
    pub annotation: String,
    /// The `TypeAdapter` decoding it.
    pub adapter: String,
    /// The `TypedError` the methods raise it with.
    pub decoder: String,
    /// The exception's docstring.
    pub doc: String,
}

/// A module-level `TypeAdapter`.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterView {
    /// Its name.
    pub name: String,
    /// The type it validates and dumps.
    pub annotation: String,
}

/// A request method.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The Python method name.
    pub name: String,
    /// The Rust method name (the OpenAPI `operationId`).
    pub operation: String,
    /// The method's docstring.
    pub doc: String,
    /// The HTTP method.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The Python expression of the path, with parameters encoded.
    pub path_expr: String,
    /// The parameters in call order: path parameters, body, query,
    /// headers; those that may be left out (and all after them) default
    /// to `None`.
    pub parameters: Vec<ParameterView>,
    /// The query parameter.
    pub query: Option<QueryView>,
    /// The header parameters.
    pub headers: Vec<HeaderView>,
    /// The body parameter.
    pub body: Option<BodyView>,
    /// The return annotation (`None` without content).
    pub returns: String,
    /// The adapter decoding the reply; null without content.
    pub response_adapter: Option<String>,
    /// The typed error.
    pub error: Option<RequestErrorView>,
}

/// A parameter of a request method.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterView {
    /// Its name.
    pub ident: String,
    /// Its annotation.
    pub annotation: String,
    /// Its default as Python source, or null.
    pub default: Option<String>,
}

/// The query parameter.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// The parameter.
    pub ident: String,
    /// The adapter dumping it to JSON fields.
    pub adapter: String,
}

/// A header parameter.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderView {
    /// The parameter.
    pub ident: String,
    /// The header name.
    pub wire_name: String,
}

/// The body parameter.
#[derive(Debug, Clone, Serialize)]
pub struct BodyView {
    /// The parameter.
    pub ident: String,
    /// The adapter dumping it to JSON.
    pub adapter: String,
}

/// The typed error of a request method.
#[derive(Debug, Clone, Serialize)]
pub struct RequestErrorView {
    /// The exception raised.
    pub exception: String,
    /// The `TypedError` decoding it.
    pub decoder: String,
    /// Each variant with its status.
    pub variants: Vec<VariantView>,
}

/// A variant of a typed error.
#[derive(Debug, Clone, Serialize)]
pub struct VariantView {
    /// The Rust variant name.
    pub name: String,
    /// Its status.
    pub status: u16,
    /// Its docs.
    pub docs: Option<String>,
}

/// An event.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The Rust method name.
    pub name: String,
    /// The constant of its topic in `Topics` (`ORDER_PLACED`).
    pub constant: String,
    /// The topic.
    pub topic: String,
    /// The payload's annotation.
    pub payload: String,
    /// The adapter decoding the payload.
    pub adapter: String,
    /// The event's docs.
    pub docs: Option<String>,
}

/// Problem type URIs.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemTypes {
    /// A typed service error.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}

/// Builds the Python view of `service`.
pub fn build(service: &view::ServiceView) -> PythonView {
    let type_names: BTreeMap<String, String> = service
        .types
        .iter()
        .map(|t| (t.name.clone(), type_name(&t.name)))
        .collect();
    let names = client_names(&service.service.name, &type_names);
    let mut mapper = Mapper::new(&service.types, type_names.clone(), names.all());

    // Models of the named object types, then the aliases (declaring the
    // models of inline objects as they are met).
    for def in &service.types {
        if let Shape::Object(object) = &def.shape {
            mapper.declare_model(&def.name, object, def.docs.clone());
        }
    }
    let order = alias_order(&service.types);
    let mut aliases = Vec::new();
    for (position, def) in order.iter().enumerate() {
        let later: BTreeSet<String> = order[position..]
            .iter()
            .map(|d| mapper.name(&d.name))
            .collect();
        mapper.set_quoted(later);
        let name = mapper.name(&def.name);
        let annotation = match &def.shape {
            Shape::Union(variants) => {
                let variants: Vec<(&Ty, Option<&String>)> =
                    variants.iter().map(|v| (&v.ty, v.docs.as_ref())).collect();
                mapper.union_of(&variants, &name)
            }
            _ => mapper.annotation(&def.ty, &name),
        };
        aliases.push(AliasView {
            name,
            annotation,
            docs: def.docs.clone(),
        });
    }
    mapper.set_quoted(BTreeSet::new());

    let mut adapters = Adapters::default();
    let mut errors: Vec<ErrorView> = Vec::new();
    let mut requests = Vec::new();
    for request in &service.requests {
        let hint = pascal(&request.name);
        let error = request.error.as_ref().map(|e| {
            let annotation = mapper.annotation(&e.ty, &format!("{hint}Error"));
            let index = match errors.iter().position(|x| x.annotation == annotation) {
                Some(index) => index,
                None => {
                    let base = match &e.ty {
                        Ty::Ref(name) => mapper.name(name),
                        _ => format!("{hint}Error"),
                    };
                    let exception = mapper.fresh(&format!("{base}Exception"));
                    let adapter = adapters.get(&mut mapper, &annotation);
                    errors.push(ErrorView {
                        decoder: format!("_ERROR_{}", constant(&exception)),
                        doc: format!(
                            "The typed error `{annotation}` as the server answered it; it is in `error`."
                        ),
                        exception,
                        annotation: annotation.clone(),
                        adapter,
                    });
                    errors.len() - 1
                }
            };
            RequestErrorView {
                exception: errors[index].exception.clone(),
                decoder: errors[index].decoder.clone(),
                variants: e
                    .variants
                    .iter()
                    .map(|v| VariantView {
                        name: v.name.clone(),
                        status: v.status,
                        docs: v.docs.clone(),
                    })
                    .collect(),
            }
        });
        requests.push(request_view(request, &mut mapper, &mut adapters, error));
    }

    let events = service
        .events
        .iter()
        .map(|event| {
            let payload = mapper.annotation(&event.payload, &pascal(&event.name));
            EventView {
                name: event.name.clone(),
                constant: constant(&event.name),
                topic: event.topic.clone(),
                adapter: adapters.get(&mut mapper, &payload),
                payload,
                docs: event.summary.clone(),
            }
        })
        .collect();

    let models: Vec<ModelView> = mapper
        .models
        .iter()
        .map(|m| ModelView {
            name: m.name.clone(),
            docs: m.docs.clone(),
            extra: m.extra,
            optional: m
                .fields
                .iter()
                .filter(|f| f.optional)
                .map(|f| f.name.clone())
                .collect(),
            fields: m
                .fields
                .iter()
                .map(|f| FieldView {
                    name: f.name.clone(),
                    json_name: f.json_name.clone(),
                    annotation: f.annotation.clone(),
                    default: f.default.clone(),
                    docs: f.docs.clone(),
                })
                .collect(),
        })
        .collect();

    let mut exports: Vec<String> = models
        .iter()
        .map(|m| m.name.clone())
        .chain(aliases.iter().map(|a| a.name.clone()))
        .chain(errors.iter().map(|e| e.exception.clone()))
        .chain(names.exported())
        .collect();
    // Constants, then classes, then the rest, as ruff (RUF022) sorts `__all__`.
    exports.sort_by(|a, b| export_order(a).cmp(&export_order(b)));

    let info = &service.service;
    let package = Package {
        module: module_name(&info.name),
        distribution: distribution_name(&info.name),
        version: info.version.clone(),
        description: format!(
            "A client of the `{}` service, version {}",
            info.name, info.version
        ),
        requires_python: REQUIRES_PYTHON.into(),
        dependencies: DEPENDENCIES.iter().map(|d| (*d).to_owned()).collect(),
        build_requires: BUILD_REQUIRES.into(),
    };
    let mut module_doc = format!(
        "A Python client of the `{}` service, version {}.\n\n\
         Written by accord from `{}`; do not edit, generate it again.\n\n\
         `{client}` has one async method per request method, sending one HTTP call\n\
         with httpx. A method returns its value, or raises: the method's typed error\n\
         as a `{service_error}` subclass carrying it in `error`, any other problem\n\
         document (such as rejected input, whose `errors` name each field) as\n\
         `{problem_error}`, a reply the contract does not describe as\n\
         `{protocol_error}`, a call over its timeout as `TimeoutError`, and httpx's\n\
         own errors when the server cannot be reached.\n\n\
         Every schema is a pydantic model or a type alias. Fields keep their JSON\n\
         names on the wire and get a Python name in code where the JSON name is\n\
         none; a field that is not required is `None` when absent.",
        info.name,
        info.version,
        info.rust_path,
        client = names.client,
        service_error = names.service_error,
        problem_error = names.problem_error,
        protocol_error = names.protocol_error,
    );
    if let Some(docs) = &info.docs {
        module_doc.push_str("\n\n");
        module_doc.push_str(docs);
    }
    let mut client_doc = format!(
        "A client of the `{}` service: one async method per request method.",
        info.name
    );
    if let Some(summary) = &info.summary {
        client_doc.push_str("\n\n");
        client_doc.push_str(summary);
    }
    client_doc.push_str(&format!(
        "\n\nUse it as `async with {}(base_url) as client:`, or call `aclose()`\n\
         when done. Each call takes `timeout` (seconds; the client's when left\n\
         out) and `headers` (sent with that call only).",
        names.client
    ));

    PythonView {
        service: ServiceInfo {
            name: info.name.clone(),
            version: info.version.clone(),
            docs: info.docs.clone(),
            summary: info.summary.clone(),
            package: info.package.clone(),
            rust_path: info.rust_path.clone(),
        },
        package,
        module_doc,
        client_doc,
        names,
        exports,
        models,
        aliases,
        errors,
        adapters: adapters.list,
        requests,
        events,
        problem_types: ProblemTypes {
            service_error: service.problem_types.service_error.clone(),
            invalid_request: service.problem_types.invalid_request.clone(),
        },
    }
}

fn export_order(name: &str) -> (u8, &str) {
    let kind = if name.len() > 1
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        0
    } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        1
    } else {
        2
    };
    (kind, name)
}

/// Module-level adapters, one per annotation.
#[derive(Debug, Default)]
struct Adapters {
    list: Vec<AdapterView>,
}

impl Adapters {
    fn get(&mut self, mapper: &mut Mapper<'_>, annotation: &str) -> String {
        if let Some(found) = self.list.iter().find(|a| a.annotation == annotation) {
            return found.name.clone();
        }
        let name = mapper.fresh(&format!("_ADAPTER_{}", self.list.len() + 1));
        self.list.push(AdapterView {
            name: name.clone(),
            annotation: annotation.to_owned(),
        });
        name
    }
}

fn request_view(
    request: &view::Request,
    mapper: &mut Mapper<'_>,
    adapters: &mut Adapters,
    error: Option<RequestErrorView>,
) -> RequestView {
    let hint = pascal(&request.name);
    let arguments = request.arguments();
    // Trailing arguments a call may leave out default to None.
    let mut optional_tail = true;
    let mut optional = vec![false; arguments.len()];
    for (i, argument) in arguments.iter().enumerate().rev() {
        optional_tail &= !argument.required();
        optional[i] = optional_tail;
    }
    let mut parameters = Vec::new();
    let mut query = None;
    let mut headers = Vec::new();
    let mut body = None;
    let mut path_idents = BTreeMap::new();
    let mut used = BTreeSet::new();
    for (argument, optional) in arguments.iter().zip(optional) {
        let mut ident = parameter_name(argument.name());
        while !used.insert(ident.clone()) {
            ident.push('_');
        }
        let position = format!("{hint}{}", pascal(argument.name()));
        let mut annotation = mapper.annotation(argument.ty(), &position);
        match argument {
            Argument::Path(p) => {
                path_idents.insert(p.name.clone(), ident.clone());
            }
            Argument::Header(p) => headers.push(HeaderView {
                ident: ident.clone(),
                wire_name: p.name.clone(),
            }),
            Argument::Body(_) => {
                body = Some(BodyView {
                    ident: ident.clone(),
                    adapter: adapters.get(mapper, &annotation),
                })
            }
            Argument::Query(_) => {
                query = Some(QueryView {
                    ident: ident.clone(),
                    adapter: adapters.get(mapper, &annotation),
                })
            }
        }
        let nullable = annotation.ends_with("| None") || annotation == "None";
        if !argument.required() && !nullable {
            annotation = format!("{annotation} | None");
        }
        parameters.push(ParameterView {
            ident,
            annotation,
            default: optional.then(|| "None".to_owned()),
        });
    }
    let path_expr = request
        .path_segments
        .iter()
        .map(|segment| match segment {
            PathSegment::Literal(text) => literal_text(text),
            PathSegment::Param(name) => format!(
                "_runtime.encode_path_segment({})",
                path_idents
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| "None".to_owned())
            ),
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let (returns, response_adapter) = match &request.response {
        Some(ty) => {
            let annotation = mapper.annotation(ty, &format!("{hint}Reply"));
            let adapter = adapters.get(mapper, &annotation);
            (annotation, Some(adapter))
        }
        None => ("None".to_owned(), None),
    };
    let mut doc = format!("`{} {}`", request.method, request.path);
    if let Some(summary) = &request.summary {
        doc.push_str(": ");
        doc.push_str(summary);
    }
    if let Some(error) = &error {
        doc.push_str(&format!(
            "\n\nRaises `{}` with the typed error:\n",
            error.exception
        ));
        for variant in &error.variants {
            doc.push_str(&format!("\n- `{}` ({})", variant.name, variant.status));
            if let Some(docs) = &variant.docs {
                doc.push_str(": ");
                doc.push_str(&docs.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    RequestView {
        name: method_name(&request.name),
        operation: request.name.clone(),
        doc,
        method: request.method.clone(),
        path: request.path.clone(),
        path_expr: if path_expr.is_empty() {
            "\"\"".into()
        } else {
            path_expr
        },
        parameters,
        query,
        headers,
        body,
        returns,
        response_adapter,
        error,
    }
}

/// The aliases (named types that are not models) in dependency order:
/// an alias after the aliases it refers to, where they do not refer back.
fn alias_order(types: &[view::TypeDef]) -> Vec<&view::TypeDef> {
    let aliases: BTreeMap<&str, &view::TypeDef> = types
        .iter()
        .filter(|t| !matches!(t.shape, Shape::Object(_)))
        .map(|t| (t.name.as_str(), t))
        .collect();
    fn visit<'a>(
        name: &str,
        aliases: &BTreeMap<&str, &'a view::TypeDef>,
        state: &mut BTreeMap<String, bool>,
        order: &mut Vec<&'a view::TypeDef>,
    ) {
        if state.contains_key(name) {
            return;
        }
        let Some(def) = aliases.get(name) else {
            return;
        };
        state.insert(name.to_owned(), false);
        for reference in def.ty.refs() {
            visit(&reference, aliases, state, order);
        }
        state.insert(name.to_owned(), true);
        order.push(def);
    }
    let mut state = BTreeMap::new();
    let mut order = Vec::new();
    for name in aliases.keys() {
        visit(name, &aliases, &mut state, &mut order);
    }
    order
}

fn client_names(service: &str, types: &BTreeMap<String, String>) -> ClientNames {
    let taken: BTreeSet<&String> = types.values().collect();
    let pick = |default: &str| {
        let mut name = default.to_owned();
        while taken.contains(&name) {
            name = if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                format!("ACCORD_{name}")
            } else {
                format!("Accord{name}")
            };
        }
        name
    };
    let service = pascal(service);
    ClientNames {
        client: pick(&format!("{service}Client")),
        service_error: pick("ServiceError"),
        problem_error: pick("ProblemError"),
        protocol_error: pick("ProtocolError"),
        problem: pick("Problem"),
        field_error: pick("FieldError"),
        topics: pick("Topics"),
        events: pick(&format!("{service}Events")),
        event_payloads: pick("EVENT_PAYLOADS"),
        default_timeout: pick("DEFAULT_TIMEOUT"),
        default_reply_limit: pick("DEFAULT_REPLY_LIMIT"),
    }
}

impl ClientNames {
    /// Every name, for the mapper to keep clear of.
    fn all(&self) -> Vec<String> {
        self.exported()
    }

    /// The names the module exports.
    fn exported(&self) -> Vec<String> {
        vec![
            self.client.clone(),
            self.service_error.clone(),
            self.problem_error.clone(),
            self.protocol_error.clone(),
            self.problem.clone(),
            self.field_error.clone(),
            self.topics.clone(),
            self.events.clone(),
            self.event_payloads.clone(),
            self.default_timeout.clone(),
            self.default_reply_limit.clone(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(descriptor: &accord::ServiceDescriptor) -> PythonView {
        let neutral = view::build(descriptor, "shop-contract", "shop::Shop", &BTreeMap::new());
        build(&neutral)
    }

    #[test]
    fn parameters_come_in_call_order_with_optional_ones_last() {
        let view = python(&crate::view::tests::descriptor());
        let request = &view.requests[0];
        let parameters: Vec<(&str, &str, Option<&str>)> = request
            .parameters
            .iter()
            .map(|p| {
                (
                    p.ident.as_str(),
                    p.annotation.as_str(),
                    p.default.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            parameters,
            [
                ("id", "str", None),
                ("item", "Item", None),
                ("options", "Options | None", Some("None")),
                ("revision", "int | None", Some("None")),
            ]
        );
        assert_eq!(
            request.path_expr,
            "\"/items/\" + _runtime.encode_path_segment(id)"
        );
        assert_eq!(view.errors[0].exception, "ShopErrorException");
        assert_eq!(view.names.client, "ShopClient");
        assert_eq!(view.package.module, "shop_client");
    }

    #[test]
    fn templates_md_documents_every_field_of_the_view_model() {
        let view = python(&crate::view::tests::descriptor());
        crate::templates::tests::assert_documented(
            &serde_json::to_value(&view).unwrap(),
            "## The Python view model",
            60,
        );
    }
}
