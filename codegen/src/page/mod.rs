//! The documentation page: `index.html`, one per service version.
//!
//! It is read by people calling the service from any language, so it shows
//! the contract as it is on the wire ([`notation`]) and links every client
//! that was published beside it, with how each operation is called in
//! each language. Its templates sit at the root of a templates folder;
//! [`view`] is what they receive.

mod compiled;
mod helpers;
pub mod notation;
pub mod schema;
pub mod view;

use crate::lang::Client;
use crate::templates::{TemplateFile, TemplateSet, Templates};
use crate::view::{self as neutral, Argument, Shape, Ty};
use notation::notation;
use view::*;

/// The page's templates.
pub static TEMPLATES: TemplateSet = TemplateSet {
    name: "page",
    folder: "",
    html: true,
    files: &[
        TemplateFile {
            file: "index.html.hbs",
            partial: None,
            about: "index.html: the documentation page of the operations, events and types",
            source: include_str!("index.html.hbs"),
        },
        TemplateFile {
            file: "index-style.css.hbs",
            partial: Some("index-style"),
            about: "partial of index.html: its style sheet",
            source: include_str!("index-style.css.hbs"),
        },
    ],
    helpers: helpers::register,
};

/// Renders the page of `service`, listing `clients` (language title and
/// client) in their order.
pub fn render(
    service: &neutral::ServiceView,
    clients: &[(&str, &Client)],
    templates: &Templates,
) -> anyhow::Result<String> {
    let page = build(service, clients);
    if templates.built_in(TEMPLATES.name) {
        return Ok(compiled::render(&page));
    }
    templates.render(TEMPLATES.name, "index.html.hbs", &page)
}

fn type_ref(ty: &Ty) -> TypeRef {
    TypeRef {
        type_: notation(ty),
        refs: ty.refs(),
    }
}

/// Builds the page's view.
pub fn build(service: &neutral::ServiceView, clients: &[(&str, &Client)]) -> PageView {
    let argument = |argument: Argument<'_>| {
        let (wire_name, docs) = match argument {
            Argument::Path(p) | Argument::Header(p) => (p.name.clone(), p.docs.clone()),
            Argument::Body(_) | Argument::Query(_) => (argument.name().to_owned(), None),
        };
        ArgumentView {
            name: argument.name().to_owned(),
            wire_name,
            location: argument.location().into(),
            type_: notation(argument.ty()),
            required: argument.required(),
            docs,
            refs: argument.ty().refs(),
        }
    };
    let requests = service
        .requests
        .iter()
        .map(|r| RequestView {
            name: r.name.clone(),
            docs: r.docs.clone(),
            summary: r.summary.clone(),
            method: r.method.clone(),
            path: r.path.clone(),
            status: r.status,
            idempotent: r.idempotent,
            arguments: r.arguments().into_iter().map(argument).collect(),
            path_params: r
                .path_params
                .iter()
                .map(|p| argument(Argument::Path(p)))
                .collect(),
            query: r.query.as_ref().map(|q| QueryView {
                argument: argument(Argument::Query(q)),
                fields: q
                    .fields
                    .iter()
                    .map(|f| ArgumentView {
                        name: f.name.clone(),
                        wire_name: f.name.clone(),
                        location: "query".into(),
                        type_: notation(&f.ty),
                        required: f.required,
                        docs: f.docs.clone(),
                        refs: f.ty.refs(),
                    })
                    .collect(),
            }),
            headers: r
                .headers
                .iter()
                .map(|p| argument(Argument::Header(p)))
                .collect(),
            body: r.body.as_ref().map(|b| argument(Argument::Body(b))),
            response: r.response.as_ref().map(type_ref),
            error: r.error.as_ref().map(|e| ErrorView {
                type_: notation(&e.ty),
                refs: e.ty.refs(),
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
            calls: clients
                .iter()
                .filter_map(|(language, client)| {
                    client.calls.get(&r.name).map(|call| CallView {
                        language: (*language).to_owned(),
                        call: call.clone(),
                    })
                })
                .collect(),
        })
        .collect();
    let events = service
        .events
        .iter()
        .map(|e| EventView {
            name: e.name.clone(),
            docs: e.docs.clone(),
            summary: e.summary.clone(),
            topic: e.topic.clone(),
            key: e.key.clone(),
            payload: type_ref(&e.payload),
            error: e.error.as_ref().map(type_ref),
        })
        .collect();
    let types = service.types.iter().map(type_view).collect();
    PageView {
        service: ServiceInfo {
            name: service.service.name.clone(),
            version: service.service.version.clone(),
            docs: service.service.docs.clone(),
            summary: service.service.summary.clone(),
            package: service.service.package.clone(),
            rust_path: service.service.rust_path.clone(),
        },
        requests,
        events,
        types,
        files: Files {
            openapi: neutral::OPENAPI_FILE.into(),
            asyncapi: neutral::ASYNCAPI_FILE.into(),
            schemas: neutral::SCHEMAS_FOLDER.into(),
            index: neutral::PAGE_FILE.into(),
        },
        clients: clients
            .iter()
            .map(|(language, client)| ClientView {
                language: (*language).to_owned(),
                entry: client.entry.clone(),
            })
            .collect(),
        problem_types: ProblemTypes {
            service_error: service.problem_types.service_error.clone(),
            invalid_request: service.problem_types.invalid_request.clone(),
        },
    }
}

fn type_view(def: &neutral::TypeDef) -> TypeView {
    let schema_value = &def.schema;
    let (properties, variants) = match &def.shape {
        Shape::Object(object) => (
            object
                .properties
                .iter()
                .map(|p| {
                    let own = schema::property(schema_value, &p.name);
                    PropertyView {
                        name: p.name.clone(),
                        type_: notation(&p.ty),
                        schema: own.and_then(schema::facts),
                        examples: own.map(|s| schema::examples(s, false)).unwrap_or_default(),
                        required: p.required,
                        docs: p.docs.clone(),
                        refs: p.ty.refs(),
                    }
                })
                .collect(),
            Vec::new(),
        ),
        Shape::Union(alternatives) => (
            Vec::new(),
            alternatives
                .iter()
                .map(|v| VariantView {
                    type_: notation(&v.ty),
                    docs: v.docs.clone(),
                    refs: v.ty.refs(),
                })
                .collect(),
        ),
        Shape::Alias => (Vec::new(), Vec::new()),
    };
    TypeView {
        name: def.name.clone(),
        anchor: def.name.clone(),
        docs: def.docs.clone(),
        summary: def.summary.clone(),
        kind: def.shape.kind().into(),
        type_: notation(&def.ty),
        schema: schema::facts(schema_value),
        examples: schema::examples(schema_value, true),
        properties,
        variants,
        refs: def.ty.refs(),
        schema_file: def.schema_file.clone(),
        schema_json: def.schema_json.clone(),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn templates_md_documents_every_field_of_the_page_view() {
        let service = neutral::build(
            &crate::view::tests::descriptor(),
            "shop-contract",
            "shop::Shop",
        );
        let client = Client {
            files: BTreeMap::new(),
            entry: "client.ts".into(),
            calls: BTreeMap::from([("update_item".to_owned(), "updateItem()".to_owned())]),
        };
        let page = build(&service, &[("TypeScript", &client)]);
        assert_eq!(page.requests[0].calls[0].call, "updateItem()");
        crate::templates::tests::assert_documented(
            &serde_json::to_value(&page).unwrap(),
            "## The page's view model",
            50,
        );
    }
}
