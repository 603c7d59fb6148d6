//! Fills in what a parsed contract leaves implicit, once, before it is
//! checked: each request's path split at its parameters, the arguments the
//! path and the JSON body bind, and each event's default topic.
//!
//! Resolving reports only a path it cannot split; whether the bindings it
//! arrives at make sense (an argument bound twice, a second body, a path
//! parameter without an argument) is for [`crate::check`] to say.

use crate::ctxt::Ctxt;
use crate::model::{Arg, Binding, OpKind, Request, Service};
use crate::path::{split_path, Seg};

pub fn resolve_service(cx: &Ctxt, service: &mut Service) {
    for op in &mut service.ops {
        match &mut op.kind {
            OpKind::Request(request) => resolve_request(cx, request, &mut op.args),
            OpKind::Event(event) => {
                if event.topic_lit.is_none() {
                    event.topic = format!("{}.{}", service.name, op.ident);
                }
            }
        }
    }
}

fn resolve_request(cx: &Ctxt, request: &mut Request, args: &mut [Arg]) {
    let segments = match split_path(&request.path) {
        Ok(segments) => segments,
        Err(message) => {
            cx.error_at(request.path_span(), message);
            return;
        }
    };
    for seg in &segments {
        let Seg::Param(name) = seg else { continue };
        if let Some(arg) = args.iter_mut().find(|a| a.ident == name.as_str()) {
            if matches!(arg.binding, Binding::Unbound) {
                arg.binding = Binding::Path;
            }
        }
    }
    if request.takes_body() {
        for arg in args.iter_mut() {
            if matches!(arg.binding, Binding::Unbound) && !arg.binding_reported {
                arg.binding = Binding::Body;
            }
        }
    }
    request.segments = Some(segments);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_service;

    fn resolved(item: syn::ItemTrait) -> Service {
        let cx = Ctxt::new();
        let mut service = parse_service(&cx, syn::parse_quote!(service(version = "1.0.0")), &item);
        resolve_service(&cx, &mut service);
        assert!(cx.check().is_ok());
        service
    }

    fn bindings(service: &Service, op: usize) -> Vec<&'static str> {
        service.ops[op]
            .args
            .iter()
            .map(|a| match a.binding {
                Binding::Unbound => "unbound",
                Binding::Path => "path",
                Binding::Query(_) => "query",
                Binding::Header(..) => "header",
                Binding::Body => "body",
            })
            .collect()
    }

    #[test]
    fn binds_path_parameters_and_bodies() {
        let service = resolved(syn::parse_quote! {
            trait Items {
                #[request(method = "PUT", path = "/items/{id}")]
                async fn put(&self, item: Item, id: u64, #[header("x-key")] key: String);
                #[request(method = "GET", path = "/items/{id}")]
                async fn get(&self, id: u64, extra: String);
                #[event]
                async fn added(&self, item: Item);
            }
        });
        assert_eq!(bindings(&service, 0), ["body", "path", "header"]);
        // A GET takes no body: the check pass reports what stays unbound.
        assert_eq!(bindings(&service, 1), ["path", "unbound"]);
        let OpKind::Event(event) = &service.ops[2].kind else {
            panic!("an event");
        };
        assert_eq!(event.topic, "items.added");
    }
}
