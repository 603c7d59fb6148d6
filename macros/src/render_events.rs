//! Tokens for the event roles: the `{Trait}Subscriber` trait, the
//! `{Trait}Publisher` struct, and the event routes and handler table they
//! share. Rendered only for contracts that declare events.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{Event, OpKind, Operation, Output, Service};

fn events(service: &Service) -> Vec<(&Operation, &Event)> {
    service
        .ops
        .iter()
        .filter_map(|op| match &op.kind {
            OpKind::Event(e) => Some((op, e)),
            OpKind::Request(_) => None,
        })
        .collect()
}

/// Items outside the `const _` block: the subscriber trait and the
/// publisher struct.
pub fn render_event_items(p: &TokenStream, service: &Service) -> TokenStream {
    let events = events(service);
    if events.is_empty() {
        return quote!();
    }
    let vis = &service.vis;
    let marker = &service.ident;
    let subscriber = format_ident!("{}Subscriber", service.ident);
    let publisher = format_ident!("{}Publisher", service.ident);
    let methods = events.iter().map(|(op, _)| {
        let attrs = &op.attrs;
        let ident = &op.ident;
        let args = crate::render::arg_list(op);
        let ret = match &op.output {
            Output::Result(t, e) => quote!(::core::result::Result<#t, #e>),
            _ => quote!(()),
        };
        quote! {
            #(#attrs)*
            fn #ident(&self, #(#args),*) -> impl #p::Future<Output = #ret> + #p::Send;
        }
    });
    let subscriber_doc = format!(
        "The subscriber role of [`{marker}`]: its event methods. Implement it and run it for a \
         group with [`subscribe`]({subscriber}::subscribe); an error or a panic is retried, then \
         dead-lettered."
    );
    let publisher_doc = format!(
        "Publishes the events of [`{marker}`] on a broker; each method returns once the broker \
         has accepted the event."
    );
    quote! {
        #[doc = #subscriber_doc]
        #vis trait #subscriber: #p::Send + ::core::marker::Sync + 'static {
            #(#methods)*

            /// This subscriber's handlers, by topic.
            fn into_event_handlers(self) -> #p::EventHandlers
            where
                Self: ::core::marker::Sized,
            {
                #marker::__event_handlers(self)
            }

            /// Joins `group` on `broker` with the default settings and starts
            /// handling events; use [`Subscriber`](#p::Subscriber) to tune them.
            fn subscribe<B: #p::ConsumeEvents>(
                self,
                broker: B,
                group: &str,
            ) -> impl #p::Future<Output = #p::Result<#p::SubscriberHandle, #p::BrokerError>> + #p::Send
            where
                Self: ::core::marker::Sized,
            {
                #p::Subscriber::new(broker, group).start(<Self as #subscriber>::into_event_handlers(self))
            }
        }

        #[doc = #publisher_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        #vis struct #publisher<B> {
            inner: #p::EventPublisher<B>,
        }
    }
}

/// Items inside the `const _` block: routes, handler table, publisher impl.
pub fn render_event_impls(p: &TokenStream, service: &Service) -> TokenStream {
    let events = events(service);
    if events.is_empty() {
        return quote!();
    }
    let marker = &service.ident;
    let subscriber = format_ident!("{}Subscriber", service.ident);
    let publisher = format_ident!("{}Publisher", service.ident);
    let name = &service.name;
    let count = events.len();
    let routes = events.iter().map(|(op, event)| {
        let operation = op.ident.to_string();
        let topic = &event.topic;
        quote!(#p::EventRoute { service: #name, operation: #operation, topic: #topic })
    });
    let handlers = events.iter().enumerate().map(|(index, (op, _))| {
        let ident = &op.ident;
        let ty = op.args.first().map(|a| &a.ty);
        let payload = op.args.first().map(|a| &a.ident);
        let args = crate::render::call_args(p, op);
        let local = crate::render::context_local();
        let call = match &op.output {
            Output::Result(_, _) => quote!(<S as #subscriber>::#ident(&server, #(#args),*).await),
            _ => quote! {{
                <S as #subscriber>::#ident(&server, #(#args),*).await;
                #p::Result::<(), ::core::convert::Infallible>::Ok(())
            }},
        };
        quote! {
            (
                &EVENT_ROUTES[#index],
                #p::event_handler(::core::clone::Clone::clone(&server), |server: #p::Arc<S>, #payload: #ty, #local: #p::Context| async move {
                    #call
                }),
            )
        }
    });
    let publish_methods = events.iter().enumerate().map(|(index, (op, event))| {
        let ident = &op.ident;
        let docs = op.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let Some(payload) = op.args.first() else {
            return quote!();
        };
        let arg = &payload.ident;
        let ty = &payload.ty;
        let key = match &event.key {
            Some(lit) => {
                let mut field = format_ident!("{}", lit.value());
                field.set_span(lit.span());
                quote!(#p::key_text(&#arg.#field)?)
            }
            None => quote!(#p::Option::None),
        };
        quote! {
            #(#docs)*
            pub async fn #ident(&self, #arg: &#ty) -> #p::Result<#p::EventId, #p::PublishError> {
                let key = #key;
                self.inner.publish(&EVENT_ROUTES[#index], key, #arg).await
            }
        }
    });
    let error_checks = events.iter().filter_map(|(op, _)| match &op.output {
        Output::Result(_, e) => {
            let span = syn::spanned::Spanned::span(e);
            Some(quote::quote_spanned!(span=> #p::assert_event_error::<#e>();))
        }
        _ => None,
    });
    quote! {
        static EVENT_ROUTES: [#p::EventRoute; #count] = [#(#routes),*];

        #[allow(dead_code)]
        fn __check_event_errors() {
            #(#error_checks)*
        }

        impl #marker {
            #[doc(hidden)]
            pub fn __event_handlers<S: #subscriber>(server: S) -> #p::EventHandlers {
                let server = #p::Arc::new(server);
                #p::EventHandlers::new(#name, ::core::convert::From::from([#(#handlers),*]))
            }
        }

        impl<B: #p::Publish> #publisher<B> {
            /// A publisher on `broker`; events carry the source `/<service>`.
            pub fn new(broker: B) -> Self {
                #publisher { inner: #p::EventPublisher::new(broker, #name) }
            }

            /// Sets the CloudEvents `source` of the events published.
            pub fn with_source(self, source: &str) -> Self {
                #publisher { inner: self.inner.with_source(source) }
            }

            #(#publish_methods)*
        }
    }
}
