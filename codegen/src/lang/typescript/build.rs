//! Building the TypeScript view model from the language-neutral view:
//! TypeScript names and types, the call order of the arguments and which
//! may be left out, and the names the client declares, clear of the
//! contract's.

use std::collections::BTreeSet;

use super::names::identifier;
use super::types::TypeRenderer;
use super::view::*;
use crate::view::{self, Argument, Shape, Ty};

/// Builds the TypeScript view of `service`.
pub fn build(service: &view::ServiceView, client_file: &str) -> ServiceView {
    let renderer = TypeRenderer::new(service.types.iter().map(|t| &t.name));
    let type_ref = |ty: &Ty| TypeRef {
        ts_type: renderer.type_expr(ty),
        refs: renderer.referenced_names(ty),
    };
    let argument = |argument: Argument<'_>| {
        let (name, wire_name, docs) = match argument {
            Argument::Path(p) | Argument::Header(p) => {
                (p.argument.clone(), p.name.clone(), p.docs.clone())
            }
            Argument::Body(b) => (b.argument.clone(), b.argument.clone(), None),
            Argument::Query(q) => (q.argument.clone(), q.argument.clone(), None),
        };
        ArgumentView {
            ident: identifier(&name, false),
            name,
            wire_name,
            location: argument.location().into(),
            ts_type: renderer.type_expr(argument.ty()),
            required: argument.required(),
            optional: false,
            docs,
            refs: renderer.referenced_names(argument.ty()),
        }
    };
    let query_field = |field: &view::Param| ArgumentView {
        name: field.name.clone(),
        ident: identifier(&field.name, false),
        wire_name: field.name.clone(),
        location: "query".into(),
        ts_type: renderer.type_expr(&field.ty),
        required: field.required,
        optional: false,
        docs: field.docs.clone(),
        refs: renderer.referenced_names(&field.ty),
    };

    let requests: Vec<RequestView> = service
        .requests
        .iter()
        .map(|request| RequestView {
            name: request.name.clone(),
            function: identifier(&request.name, true),
            docs: request.docs.clone(),
            summary: request.summary.clone(),
            method: request.method.clone(),
            path: request.path.clone(),
            path_segments: request
                .path_segments
                .iter()
                .map(|segment| match segment {
                    view::PathSegment::Literal(text) => PathSegment {
                        literal: Some(text.clone()),
                        param: None,
                        argument: None,
                    },
                    view::PathSegment::Param(name) => PathSegment {
                        literal: None,
                        param: Some(name.clone()),
                        argument: None,
                    },
                })
                .collect(),
            status: request.status,
            idempotent: request.idempotent,
            arguments: Vec::new(),
            path_params: request
                .path_params
                .iter()
                .map(|p| argument(Argument::Path(p)))
                .collect(),
            query: request.query.as_ref().map(|q| QueryView {
                argument: argument(Argument::Query(q)),
                fields: q.fields.iter().map(query_field).collect(),
            }),
            headers: request
                .headers
                .iter()
                .map(|p| argument(Argument::Header(p)))
                .collect(),
            body: request.body.as_ref().map(|b| argument(Argument::Body(b))),
            response: request.response.as_ref().map(&type_ref),
            returns: request
                .response
                .as_ref()
                .map(|ty| renderer.type_expr(ty))
                .unwrap_or_else(|| "void".into()),
            error: request.error.as_ref().map(|e| ErrorView {
                ts_type: renderer.type_expr(&e.ty),
                refs: renderer.referenced_names(&e.ty),
                variants: e
                    .variants
                    .iter()
                    .map(|v| ErrorVariantView {
                        name: v.name.clone(),
                        status: v.status,
                        docs: v.docs.clone(),
                    })
                    .collect(),
            }),
            credential: request.auth.as_ref().map(|a| a.scheme.to_owned()),
            credential_header: request.auth.as_ref().map(|a| a.header.clone()),
        })
        .map(with_arguments)
        .collect();

    let events = service
        .events
        .iter()
        .map(|event| EventView {
            name: event.name.clone(),
            ident: identifier(&event.name, true),
            docs: event.docs.clone(),
            summary: event.summary.clone(),
            topic: event.topic.clone(),
            key: event.key.clone(),
            payload: type_ref(&event.payload),
            error: event.error.as_ref().map(&type_ref),
        })
        .collect();

    let types: Vec<TypeView> = service
        .types
        .iter()
        .map(|def| type_view(&renderer, def))
        .collect();

    let names = client_names(&service.service.name, &types, &requests);
    ServiceView {
        service: ServiceInfo {
            name: service.service.name.clone(),
            version: service.service.version.clone(),
            docs: service.service.docs.clone(),
            summary: service.service.summary.clone(),
            package: service.service.package.clone(),
            rust_path: service.service.rust_path.clone(),
            auth: service.service.auth.as_ref().map(|auth| AuthView {
                bearer: auth.bearer,
                api_key_header: auth.api_key_header.clone(),
            }),
        },
        requests,
        events,
        types,
        names,
        files: Files {
            openapi: view::OPENAPI_FILE.into(),
            asyncapi: view::ASYNCAPI_FILE.into(),
            client: client_file.into(),
            index: view::PAGE_FILE.into(),
            schemas: view::SCHEMAS_FOLDER.into(),
        },
        problem_types: ProblemTypes {
            service_error: service.problem_types.service_error.clone(),
            invalid_request: service.problem_types.invalid_request.clone(),
        },
    }
}

fn type_view(renderer: &TypeRenderer, def: &view::TypeDef) -> TypeView {
    let mut properties = Vec::new();
    let mut variants = Vec::new();
    match &def.shape {
        Shape::Object(object) => {
            properties = object
                .properties
                .iter()
                .map(|p| PropertyView {
                    name: p.name.clone(),
                    key: super::names::property_key(&p.name),
                    ts_type: renderer.type_expr(&p.ty),
                    required: p.required,
                    docs: p.docs.clone(),
                    refs: renderer.referenced_names(&p.ty),
                })
                .collect();
        }
        Shape::Union(alternatives) => {
            variants = alternatives
                .iter()
                .map(|alternative| VariantView {
                    ts_type: renderer.type_expr(&alternative.ty),
                    docs: alternative.docs.clone(),
                    refs: renderer.referenced_names(&alternative.ty),
                })
                .collect();
        }
        Shape::Alias => {}
    }
    TypeView {
        name: def.name.clone(),
        ts_name: renderer.name(&def.name),
        docs: def.docs.clone(),
        summary: def.summary.clone(),
        kind: def.shape.kind().into(),
        ts_type: renderer.type_expr(&def.ty),
        properties,
        variants,
        schema_file: def.schema_file.clone(),
        schema_json: def.schema_json.clone(),
        refs: renderer.referenced_names(&def.ty),
        used_by: def
            .used_by
            .iter()
            .map(|u| UsedBy {
                name: u.name.clone(),
                anchor: format!("{}-{}", if u.event { "event" } else { "op" }, u.name),
            })
            .collect(),
    }
}

/// Orders the arguments (path parameters, body, query, headers), makes
/// the trailing ones that may be left out optional, and names the path
/// segments' arguments.
fn with_arguments(mut request: RequestView) -> RequestView {
    // The request functions' own parameters keep their names, and the
    // client's method calls the function of its own name, which an
    // argument of that name would shadow.
    let function = request.function.clone();
    let rename = |argument: &mut ArgumentView| {
        if matches!(argument.ident.as_str(), "connection" | "options") || argument.ident == function
        {
            argument.ident.push('_');
        }
    };
    request.path_params.iter_mut().for_each(rename);
    request.headers.iter_mut().for_each(rename);
    request.body.iter_mut().for_each(rename);
    if let Some(query) = &mut request.query {
        rename(&mut query.argument);
    }
    let mut arguments: Vec<ArgumentView> = request.path_params.clone();
    arguments.extend(request.body.clone());
    arguments.extend(request.query.as_ref().map(|q| q.argument.clone()));
    arguments.extend(request.headers.iter().cloned());
    let mut optional_tail = true;
    for argument in arguments.iter_mut().rev() {
        optional_tail &= !argument.required;
        argument.optional = optional_tail;
    }
    for segment in &mut request.path_segments {
        if let Some(param) = &segment.param {
            segment.argument = arguments
                .iter()
                .find(|a| a.location == "path" && &a.wire_name == param)
                .map(|a| a.ident.clone());
        }
    }
    // Keep the per-kind lists in step with the call order's flags.
    let flag = |list: &mut Vec<ArgumentView>| {
        for item in list.iter_mut() {
            if let Some(a) = arguments
                .iter()
                .find(|a| a.location == item.location && a.ident == item.ident)
            {
                item.optional = a.optional;
            }
        }
    };
    flag(&mut request.path_params);
    flag(&mut request.headers);
    if let Some(query) = &mut request.query {
        query.argument.optional = arguments
            .iter()
            .find(|a| a.location == "query")
            .is_some_and(|a| a.optional);
    }
    request.arguments = arguments;
    request
}

fn client_names(service: &str, types: &[TypeView], requests: &[RequestView]) -> ClientNames {
    let taken: BTreeSet<String> = types
        .iter()
        .map(|t| t.ts_name.clone())
        .chain(requests.iter().map(|r| r.function.clone()))
        .collect();
    let pick = |default: &str| {
        let capitalized = default
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase());
        let mut name = default.to_owned();
        while taken.contains(&name) {
            name = if capitalized {
                format!("Accord{name}")
            } else {
                format!("accord{}{}", name[..1].to_ascii_uppercase(), &name[1..])
            };
        }
        name
    };
    let service = identifier(service, true);
    let pascal = format!("{}{}", service[..1].to_ascii_uppercase(), &service[1..]);
    ClientNames {
        client: pick(&format!("{}Client", pascal.trim_start_matches('_'))),
        connection: pick("Connection"),
        call_options: pick("CallOptions"),
        call_result: pick("CallResult"),
        service_error: pick("ServiceError"),
        problem_error: pick("ProblemError"),
        protocol_error: pick("ProtocolError"),
        problem: pick("Problem"),
        field_error: pick("FieldError"),
        unwrap: pick("unwrap"),
        encode_path_segment: pick("encodePathSegment"),
        encode_query: pick("encodeQuery"),
        topics: pick("topics"),
        events: pick(&format!("{}Events", pascal.trim_start_matches('_'))),
        credential: pick("Credential"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests::descriptor;

    fn typescript(descriptor: &accord::ServiceDescriptor) -> ServiceView {
        let neutral = view::build(descriptor, "shop-contract", "shop::Shop");
        build(&neutral, "client.ts")
    }

    #[test]
    fn arguments_come_in_call_order_with_optional_ones_last() {
        let view = typescript(&descriptor());
        let request = &view.requests[0];
        let order: Vec<(&str, &str, bool)> = request
            .arguments
            .iter()
            .map(|a| (a.ident.as_str(), a.location.as_str(), a.optional))
            .collect();
        assert_eq!(
            order,
            [
                ("id", "path", false),
                ("item", "body", false),
                ("options_", "query", true),
                ("revision", "header", true),
            ]
        );
        assert_eq!(request.path_segments[1].argument.as_deref(), Some("id"));
        assert_eq!(view.types[0].kind, "interface");
        assert_eq!(view.types[2].kind, "union");
        assert_eq!(view.types[0].used_by.len(), 2);
        assert_eq!(view.names.client, "ShopClient");
    }

    #[test]
    fn client_names_give_way_to_the_contract() {
        let mut descriptor = descriptor();
        descriptor.operations[0].name = "unwrap".into();
        descriptor
            .definitions
            .insert("Problem".into(), serde_json::json!({"type": "string"}));
        let view = typescript(&descriptor);
        assert_eq!(view.names.problem, "AccordProblem");
        assert_eq!(view.names.unwrap, "accordUnwrap");
        assert_eq!(view.names.service_error, "ServiceError");
    }

    #[test]
    fn templates_md_documents_every_field_of_the_view_model() {
        let view = typescript(&descriptor());
        crate::templates::tests::assert_documented(
            &serde_json::to_value(&view).unwrap(),
            "## The TypeScript view model",
            60,
        );
    }
}
