//! Building the Python view model from the language-neutral view: names
//! first (the contract's types, then the module's own names clear of
//! them), then the models of the named object types, the aliases in
//! dependency order (declaring the models of the inline objects they
//! hold), the typed errors, the methods and the events.

use std::collections::{BTreeMap, BTreeSet};

use super::names::{
    constant, distribution_name, method_name, module_name, package_version, parameter_name, pascal,
    type_name,
};
use super::types::{literal_text, Mapper};
use super::view::*;
use crate::view::{self, Argument, PathSegment, Shape, Ty};

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
        .chain(
            service
                .service
                .auth
                .is_some()
                .then(|| names.credential.clone()),
        )
        .collect();
    // Constants, then classes, then the rest, as ruff (RUF022) sorts `__all__`.
    exports.sort_by(|a, b| export_order(a).cmp(&export_order(b)));

    let info = &service.service;
    let package = Package {
        module: module_name(&info.name),
        distribution: distribution_name(&info.name),
        version: package_version(&info.version),
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
            auth: info.auth.as_ref().map(|auth| AuthView {
                bearer: auth.bearer,
                api_key_header: auth.api_key_header.clone(),
            }),
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
        credential: request.auth.as_ref().map(|a| a.scheme.to_owned()),
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
        credential: pick("Credential"),
    }
}

impl ClientNames {
    /// Every name, for the mapper to keep clear of.
    fn all(&self) -> Vec<String> {
        let mut all = self.exported();
        all.push(self.credential.clone());
        all
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
        let neutral = view::build(descriptor, "shop-contract", "shop::Shop");
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
