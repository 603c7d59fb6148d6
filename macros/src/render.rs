//! Tokens from a checked model: the server trait, the client, and the
//! marker type with its descriptor and dispatch table. The spanned type
//! checks are in [`crate::render_checks`], the event roles in
//! [`crate::render_events`].
//!
//! Generated code reaches the runtime only through `<crate>::__private` and
//! names standard items by absolute paths, so it compiles under
//! `#![no_implicit_prelude]` and with `accord` renamed.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::model::{Binding, Event, OpKind, Operation, Output, Request, Service};
use crate::path::Seg;

pub fn render_service(service: &Service) -> TokenStream {
    let krate = &service.krate;
    let p = quote!(#krate::__private);
    let vis = &service.vis;
    let marker = &service.ident;
    let server = format_ident!("{}Server", service.ident);
    let client = format_ident!("{}Client", service.ident);
    let name = &service.name;
    let version = &service.version;
    let docs = &service.docs;
    let doc_attrs = &service.doc_attrs;

    let requests: Vec<(&Operation, &Request)> = service
        .ops
        .iter()
        .filter_map(|op| match &op.kind {
            OpKind::Request(r) => Some((op, r)),
            OpKind::Event(_) => None,
        })
        .collect();
    let route_count = requests.len();

    let server_methods = requests.iter().map(|(op, _)| render_server_method(&p, op));
    let routes = requests
        .iter()
        .enumerate()
        .map(|(index, (op, request))| render_route(&p, name, index, op, request));
    let handlers = requests
        .iter()
        .map(|(op, request)| render_handler(&p, &server, op, request));
    let client_methods = requests
        .iter()
        .enumerate()
        .map(|(index, (op, _))| render_client_method(&p, index, op));
    let describe_ops = service.ops.iter().map(|op| match &op.kind {
        OpKind::Request(request) => describe_request(&p, op, request),
        OpKind::Event(event) => describe_event(&p, op, event),
    });
    let type_checks = service
        .ops
        .iter()
        .map(|op| crate::render_checks::render_type_checks(&p, op));
    let event_items = crate::render_events::render_event_items(&p, service);
    let event_impls = crate::render_events::render_event_impls(&p, service);

    let server_doc = format!(
        "The server role of [`{marker}`]: its request methods. Implement it, then serve it with \
         [`into_router`]({server}::into_router) (HTTP) or \
         [`into_dispatcher`]({server}::into_dispatcher) (any transport)."
    );
    let client_doc = format!(
        "A typed client of [`{marker}`]: one async method per request method, over HTTP by \
         default or any other transport."
    );
    let marker_doc = format!("The `{name}` contract, version {version}.");

    quote! {
        #(#doc_attrs)*
        #[doc = ""]
        #[doc = #marker_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
        #vis struct #marker;

        #[doc = #server_doc]
        #vis trait #server: #p::Send + ::core::marker::Sync + 'static {
            #(#server_methods)*

            /// This server's dispatch table, for any request transport.
            fn into_dispatcher(self) -> #p::Dispatcher
            where
                Self: ::core::marker::Sized,
            {
                #marker::__dispatcher(self)
            }

            /// This server as an axum router, with the default settings.
            fn into_router(self) -> #p::axum::Router
            where
                Self: ::core::marker::Sized,
            {
                #p::HttpServer::new(<Self as #server>::into_dispatcher(self)).into_router()
            }
        }

        #[doc = #client_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        #vis struct #client<T = #p::HttpTransport> {
            core: #p::ClientCore<T>,
        }

        #event_items

        const _: () = {
            static ROUTES: [#p::Route; #route_count] = [#(#routes),*];

            #(#type_checks)*

            #event_impls

            impl #marker {
                /// The service name.
                pub const NAME: &'static str = #name;
                /// The contract version.
                pub const VERSION: &'static str = #version;

                /// The contract as data: operations, bindings and schemas.
                pub fn descriptor() -> &'static #p::ServiceDescriptor {
                    <Self as #p::Service>::descriptor()
                }

                #[doc(hidden)]
                pub fn __dispatcher<S: #server>(server: S) -> #p::Dispatcher {
                    let server = #p::Arc::new(server);
                    let handlers: #p::Vec<#p::Handler> = ::core::convert::From::from([#(#handlers),*]);
                    #p::Dispatcher::new(<Self as #p::Service>::descriptor(), &ROUTES, handlers)
                }
            }

            impl #p::Service for #marker {
                fn descriptor() -> &'static #p::ServiceDescriptor {
                    static DESCRIPTOR: #p::OnceLock<#p::ServiceDescriptor> = #p::OnceLock::new();
                    DESCRIPTOR.get_or_init(|| {
                        let mut builder = #p::DescriptorBuilder::new(#name, #version, #docs);
                        #(#describe_ops)*
                        builder.finish()
                    })
                }
            }

            impl #client<#p::HttpTransport> {
                /// A client of the server at `base_url`, such as `http://127.0.0.1:8080`.
                pub fn new(base_url: &str) -> #p::Result<Self, #p::InvalidBaseUrl> {
                    #p::Result::map(#p::HttpTransport::new(base_url), Self::with_transport)
                }
            }

            impl<T: #p::Transport> #client<T> {
                /// A client over `transport`.
                pub fn with_transport(transport: T) -> Self {
                    #client { core: #p::ClientCore::new(transport) }
                }

                /// Sets how long each call may take, 30 seconds unless set.
                pub fn with_timeout(mut self, timeout: #p::Duration) -> Self {
                    self.core.set_timeout(timeout);
                    self
                }

                /// The per-call timeout.
                pub fn timeout(&self) -> #p::Duration {
                    self.core.timeout()
                }

                /// The transport.
                pub fn transport(&self) -> &T {
                    self.core.transport()
                }

                #(#client_methods)*
            }
        };
    }
}

/// The parameters of the server's (or subscriber's) method: the wire
/// arguments with the context argument where the contract put it.
pub fn arg_list(op: &Operation) -> Vec<TokenStream> {
    let mut args: Vec<TokenStream> = op
        .args
        .iter()
        .map(|arg| {
            let ident = &arg.ident;
            let ty = &arg.ty;
            quote!(#ident: #ty)
        })
        .collect();
    if let Some(context) = &op.context {
        let ident = &context.ident;
        let ty = &context.ty;
        args.insert(context.position, quote!(#ident: #ty));
    }
    args
}

/// The local holding the call's context in generated handlers.
pub fn context_local() -> Ident {
    Ident::new("__accord_context", Span::mixed_site())
}

/// The arguments a generated handler passes to the server's method: the
/// decoded wire arguments, and the context where the contract put it.
pub fn call_args(p: &TokenStream, op: &Operation) -> Vec<TokenStream> {
    let mut args: Vec<TokenStream> = op
        .args
        .iter()
        .map(|arg| {
            let ident = &arg.ident;
            quote!(#ident)
        })
        .collect();
    if let Some(context) = &op.context {
        let local = context_local();
        let inner = &context.inner;
        // Through `IsContext`, at the type's span: a type of the user's own
        // named `Context` is reported there, once, with what to do.
        let span = syn::spanned::Spanned::span(inner);
        let arg = if context.by_ref {
            quote_spanned!(span=> <#inner as #p::IsContext>::context_ref(&#local))
        } else {
            quote_spanned!(span=> <#inner as #p::IsContext>::context_owned(&#local))
        };
        args.insert(context.position, arg);
    }
    args
}

fn return_type(op: &Operation) -> TokenStream {
    match &op.output {
        Output::Unit => quote!(()),
        Output::Plain(t) => quote!(#t),
        Output::Result(t, e) => quote!(::core::result::Result<#t, #e>),
    }
}

fn render_server_method(p: &TokenStream, op: &Operation) -> TokenStream {
    let attrs = &op.attrs;
    let ident = &op.ident;
    let args = arg_list(op);
    let ret = return_type(op);
    quote! {
        #(#attrs)*
        fn #ident(&self, #(#args),*) -> impl #p::Future<Output = #ret> + #p::Send;
    }
}

fn method_const(p: &TokenStream, method: &str) -> TokenStream {
    let ident = Ident::new(method, Span::call_site());
    quote!(#p::Method::#ident)
}

fn success_status(op: &Operation, request: &Request) -> u16 {
    request
        .status
        .unwrap_or(if op.output.is_unit() { 204 } else { 200 })
}

fn is_idempotent(request: &Request) -> bool {
    request.idempotent || !matches!(request.method.as_str(), "POST" | "PATCH")
}

fn render_route(
    p: &TokenStream,
    service: &str,
    index: usize,
    op: &Operation,
    request: &Request,
) -> TokenStream {
    let operation = op.ident.to_string();
    let method = method_const(p, &request.method);
    let path = &request.path;
    let segments = request.segments.iter().flatten().map(|seg| match seg {
        Seg::Literal(l) => quote!(#p::Segment::Literal(#l)),
        Seg::Param(n) => quote!(#p::Segment::Param(#n)),
    });
    let status = success_status(op, request);
    let idempotent = is_idempotent(request);
    quote! {
        #p::Route {
            service: #service,
            operation: #operation,
            index: #index,
            method: #method,
            path: #path,
            segments: &[#(#segments),*],
            status: #status,
            idempotent: #idempotent,
        }
    }
}

fn render_handler(
    p: &TokenStream,
    server: &Ident,
    op: &Operation,
    request: &Request,
) -> TokenStream {
    let ident = &op.ident;
    let names: Vec<&Ident> = op.args.iter().map(|a| &a.ident).collect();
    let decodes = op.args.iter().map(|arg| {
        let name = &arg.ident;
        let ty = &arg.ty;
        let wire = name.to_string();
        match &arg.binding {
            Binding::Path => quote!(let #name = call.decode_path::<#ty>(#wire);),
            Binding::Query(_) => quote!(let #name = call.decode_query::<#ty>();),
            Binding::Header(header, _) => quote!(let #name = call.decode_header::<#ty>(#header);),
            Binding::Body | Binding::Unbound => quote!(let #name = call.decode_json_body::<#ty>();),
        }
    });
    let status = success_status(op, request);
    let encode = match &op.output {
        Output::Result(_, e) => quote!(#p::Reply::from_result::<_, #e>(result, #status)),
        Output::Plain(_) | Output::Unit => quote!(#p::Reply::success(&result, #status)),
    };
    let args = call_args(p, op);
    let context = op.context.as_ref().map(|_| {
        let local = context_local();
        quote!(let #local = ::core::clone::Clone::clone(#p::Call::context(&call));)
    });
    quote! {
        #p::handler(::core::clone::Clone::clone(&server), |server: #p::Arc<S>, call: #p::Call| async move {
            #(#decodes)*
            let (#(#names,)*) = match (#(#names,)*) {
                (#(#p::Result::Ok(#names),)*) => (#(#names,)*),
                (#(#names,)*) => {
                    let rejection = #p::Rejection::merge([#(#p::Result::err(#names)),*]);
                    return #p::Reply::problem(&rejection.into_problem());
                }
            };
            #context
            let result = <S as #server>::#ident(&server, #(#args),*).await;
            #encode
        })
    }
}

fn render_client_method(p: &TokenStream, index: usize, op: &Operation) -> TokenStream {
    let ident = &op.ident;
    let docs = op.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let params = op.args.iter().map(|arg| {
        let name = &arg.ident;
        let ty = &arg.ty;
        quote!(#name: &#ty)
    });
    let encodes = op.args.iter().map(|arg| {
        let name = &arg.ident;
        let wire = name.to_string();
        match &arg.binding {
            Binding::Path => quote!(call.encode_path(#wire, #name)?;),
            Binding::Query(_) => quote!(call.encode_query(#name)?;),
            Binding::Header(header, _) => quote!(call.encode_header(#header, #name)?;),
            Binding::Body | Binding::Unbound => quote!(call.encode_json_body(#name)?;),
        }
    });
    let ok = match op.output.success_type() {
        Some(t) => quote!(#t),
        None => quote!(()),
    };
    let err = match op.output.error_type() {
        Some(e) => quote!(#e),
        None => quote!(#p::NoError),
    };
    let mutability = if op.args.is_empty() {
        quote!()
    } else {
        quote!(mut)
    };
    quote! {
        #(#docs)*
        pub async fn #ident(&self, #(#params),*) -> #p::Result<#ok, #p::CallError<#err>> {
            let #mutability call = #p::Call::new();
            #(#encodes)*
            self.core.call::<#ok, #err>(&ROUTES[#index], call).await
        }
    }
}

fn describe_request(p: &TokenStream, op: &Operation, request: &Request) -> TokenStream {
    let name = op.ident.to_string();
    let docs = &op.docs;
    let method = &request.method;
    let path = &request.path;
    let status = success_status(op, request);
    let idempotent = is_idempotent(request);
    let mut parts = Vec::new();
    for seg in request.segments.iter().flatten() {
        let Seg::Param(param) = seg else { continue };
        if let Some(arg) = op.args.iter().find(|a| a.ident == param.as_str()) {
            let ty = &arg.ty;
            parts.push(quote!(.path_param::<#ty>(#param, #param)));
        }
    }
    for arg in &op.args {
        let ty = &arg.ty;
        let argument = arg.ident.to_string();
        match &arg.binding {
            Binding::Query(_) => parts.push(quote!(.query::<#ty>(#argument))),
            Binding::Header(header, _) => parts.push(quote!(.header::<#ty>(#header, #argument))),
            Binding::Body | Binding::Unbound => parts.push(quote!(.body::<#ty>(#argument))),
            Binding::Path => {}
        }
    }
    if !op.output.is_unit() {
        if let Some(t) = op.output.success_type() {
            parts.push(quote!(.response::<#t>()));
        }
    }
    if let Some(e) = op.output.error_type() {
        parts.push(quote!(.error::<#e>()));
    }
    quote! {
        builder
            .request(#p::RequestSpec {
                name: #name,
                docs: #docs,
                method: #method,
                path: #path,
                status: #status,
                idempotent: #idempotent,
            })
            #(#parts)*;
    }
}

fn describe_event(p: &TokenStream, op: &Operation, event: &Event) -> TokenStream {
    let Some(payload) = op.args.first() else {
        return quote!();
    };
    let name = op.ident.to_string();
    let docs = &op.docs;
    let topic = &event.topic;
    let ty = &payload.ty;
    let argument = payload.ident.to_string();
    let key = match &event.key {
        Some(lit) => quote!(#p::Option::Some(#lit)),
        None => quote!(#p::Option::None),
    };
    quote! {
        builder.event::<#ty>(#name, #docs, #topic, #key, #argument);
    }
}
