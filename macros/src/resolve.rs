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
