//! The documentation page: `index.html`, one per service version.
//!
//! It is read by people calling the service from any language, so it shows
//! the contract as it is on the wire ([`notation`]) and links every client
//! that was published beside it, with how each operation is called in
//! each language. Its templates sit at the root of a templates folder.

mod helpers;
pub mod notation;

use serde::Serialize;

use crate::lang::Client;
use crate::templates::{TemplateFile, TemplateSet, Templates};
use crate::view::{self, Argument, Shape, Ty};
use notation::notation;

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

/// Everything the page's templates are rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    /// The service.
    pub service: ServiceInfo,
    /// The request operations, in declaration order.
    pub requests: Vec<RequestView>,
    /// The event operations, in declaration order.
    pub events: Vec<EventView>,
    /// The named schemas, sorted by name.
    pub types: Vec<TypeView>,
    /// The documents published beside the page.
    pub files: Files,
    /// The clients published beside the page, one per language.
    pub clients: Vec<ClientView>,
    /// The `type` URIs of the problem documents accord servers send.
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
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The contract crate's package name.
    pub package: String,
    /// The Rust path of the service.
    pub rust_path: String,
}

/// A request operation.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The Rust method name (the OpenAPI `operationId`).
    pub name: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The status of a successful reply.
    pub status: u16,
    /// Whether a repeated call has the same effect.
    pub idempotent: bool,
    /// Every argument in call order: path parameters, body, query, headers.
    pub arguments: Vec<ArgumentView>,
    /// The path parameters.
    pub path_params: Vec<ArgumentView>,
    /// The query argument and its fields.
    pub query: Option<QueryView>,
    /// The headers.
    pub headers: Vec<ArgumentView>,
    /// The JSON body.
    pub body: Option<ArgumentView>,
    /// The success value; null without content.
    pub response: Option<TypeRef>,
    /// The typed service error.
    pub error: Option<ErrorView>,
    /// How each published client calls it.
    pub calls: Vec<CallView>,
}

/// How one client calls an operation.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// The language, for people (`TypeScript`).
    pub language: String,
    /// The call (`placeOrder()`).
    pub call: String,
}

/// An argument.
#[derive(Debug, Clone, Serialize)]
pub struct ArgumentView {
    /// The Rust argument (for query fields: the field) name.
    pub name: String,
    /// The path parameter, header or query field name; the argument name
    /// for a body or query.
    pub wire_name: String,
    /// `path`, `query`, `header` or `body`.
    pub location: String,
    /// Its type, in the page's notation.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether a call must give it.
    pub required: bool,
    /// Its docs.
    pub docs: Option<String>,
    /// The named types its type mentions.
    pub refs: Vec<String>,
}

/// The query argument.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// The query struct argument.
    pub argument: ArgumentView,
    /// Its fields.
    pub fields: Vec<ArgumentView>,
}

/// A type, in the page's notation, with the named types it mentions.
#[derive(Debug, Clone, Serialize)]
pub struct TypeRef {
    /// The type.
    #[serde(rename = "type")]
    pub type_: String,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// A typed service error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// The type of the problem document's `error` member.
    #[serde(rename = "type")]
    pub type_: String,
    /// The named types it mentions.
    pub refs: Vec<String>,
    /// Each variant and its status.
    pub variants: Vec<ErrorVariantView>,
}

/// One variant of a service error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorVariantView {
    /// The Rust variant name.
    pub name: String,
    /// Its status.
    pub status: u16,
    /// Its docs.
    pub docs: Option<String>,
}

/// An event operation.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The Rust method name.
    pub name: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The topic.
    pub topic: String,
    /// The payload field that orders deliveries.
    pub key: Option<String>,
    /// The payload.
    pub payload: TypeRef,
    /// The handler's error.
    pub error: Option<TypeRef>,
}

/// A named schema.
#[derive(Debug, Clone, Serialize)]
pub struct TypeView {
    /// The schema name.
    pub name: String,
    /// The anchor of its section, without `type-`.
    pub anchor: String,
    /// Its description.
    pub docs: Option<String>,
    /// Its first paragraph.
    pub summary: Option<String>,
    /// `interface`, `union` or `alias`.
    pub kind: String,
    /// The whole type.
    #[serde(rename = "type")]
    pub type_: String,
    /// The properties of an `interface`.
    pub properties: Vec<PropertyView>,
    /// The alternatives of a `union`.
    pub variants: Vec<VariantView>,
    /// The named types it mentions.
    pub refs: Vec<String>,
    /// Its schema file.
    pub schema_file: String,
    /// That file's contents.
    pub schema_json: String,
    /// The operations using it.
    pub used_by: Vec<UsedBy>,
}

/// A property.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyView {
    /// The JSON name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether every value has it.
    pub required: bool,
    /// Its description.
    pub docs: Option<String>,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// An alternative of a union.
#[derive(Debug, Clone, Serialize)]
pub struct VariantView {
    /// Its type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its description.
    pub docs: Option<String>,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// An operation using a type.
#[derive(Debug, Clone, Serialize)]
pub struct UsedBy {
    /// The operation.
    pub name: String,
    /// Its anchor: `op-<name>` or `event-<name>`.
    pub anchor: String,
}

/// A client published beside the page.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    /// Its language, for people (`TypeScript`).
    pub language: String,
    /// The file or folder to open, relative to the page.
    pub entry: String,
}

/// The documents beside the page.
#[derive(Debug, Clone, Serialize)]
pub struct Files {
    /// The OpenAPI document.
    pub openapi: String,
    /// The AsyncAPI document.
    pub asyncapi: String,
    /// The folder of JSON Schemas.
    pub schemas: String,
    /// The page itself.
    pub index: String,
}

/// Problem type URIs.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemTypes {
    /// A typed service error.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}

/// Renders the page of `service`, listing `clients` (language title and
/// client) in their order.
pub fn render(
    service: &view::ServiceView,
    clients: &[(&str, &Client)],
    templates: &Templates,
) -> anyhow::Result<String> {
    templates.render(TEMPLATES.name, "index.html.hbs", &build(service, clients))
}

fn type_ref(ty: &Ty) -> TypeRef {
    TypeRef {
        type_: notation(ty),
        refs: ty.refs(),
    }
}

/// Builds the page's view.
pub fn build(service: &view::ServiceView, clients: &[(&str, &Client)]) -> PageView {
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
            openapi: view::OPENAPI_FILE.into(),
            asyncapi: view::ASYNCAPI_FILE.into(),
            schemas: view::SCHEMAS_FOLDER.into(),
            index: view::PAGE_FILE.into(),
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

fn type_view(def: &view::TypeDef) -> TypeView {
    let (properties, variants) = match &def.shape {
        Shape::Object(object) => (
            object
                .properties
                .iter()
                .map(|p| PropertyView {
                    name: p.name.clone(),
                    type_: notation(&p.ty),
                    required: p.required,
                    docs: p.docs.clone(),
                    refs: p.ty.refs(),
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
        let service = view::build(
            &crate::view::tests::descriptor(),
            "shop-contract",
            "shop::Shop",
            &BTreeMap::new(),
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
