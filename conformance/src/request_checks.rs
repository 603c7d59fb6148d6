//! Checks of request/reply over a broker.

use std::collections::BTreeMap;
use std::time::Duration;

use accord::broker::{BrokerError, Message, PendingRequest, RequestReply, Responder};

use crate::{text, within, Names, Task, ARRIVE};

/// Serves requests in the background: each reply is `"{name}:{payload}"`
/// and carries the request's `x-conformance-id` header back.
fn serve<R: Responder>(name: &'static str, mut responder: R) -> Task {
    Task::spawn(async move {
        while let Some(request) = responder.next().await {
            let message = request.message();
            let mut reply =
                Message::new(message.topic.clone(), format!("{name}:{}", text(message)));
            if let Some(id) = message.header("x-conformance-id") {
                reply = reply.with_header("x-conformance-id", id);
            }
            let _ = request.reply(reply).await;
        }
    })
}

/// Takes requests and never replies, holding them until dropped.
fn ignore<R: Responder>(mut responder: R) -> Task {
    Task::spawn(async move {
        let mut held = Vec::new();
        while let Some(request) = responder.next().await {
            held.push(request);
        }
    })
}

async fn respond<B: RequestReply>(broker: &B, topic: &str, group: &str) -> B::Responder {
    let what = format!("serving requests on `{topic}`");
    within(ARRIVE, &what, broker.respond(topic, group))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Request/reply: a responder's reply reaches the requester; a request
/// nobody serves fails fast; a responder that never replies gives a
/// timeout; the members of one responder group share the requests.
pub async fn request_reply<B: RequestReply>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "request-reply");

    // A reply comes back, with its headers.
    let topic = names.topic("echo");
    let _server = serve("echo", respond(broker, &topic, &names.group("echo")).await);
    let reply = within(
        ARRIVE,
        "a request with a responder",
        broker.request(
            Message::new(&topic, "hello").with_header("x-conformance-id", "r1"),
            Duration::from_secs(5),
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("a request with a responder failed: {e}"));
    assert_eq!(text(&reply), "echo:hello");
    assert_eq!(reply.header("x-conformance-id"), Some("r1"));

    // Nobody serves the topic.
    let nobody = names.topic("nobody");
    let started = tokio::time::Instant::now();
    let result = within(
        ARRIVE,
        "a request nobody serves",
        broker.request(Message::new(&nobody, "anyone?"), Duration::from_secs(1)),
    )
    .await;
    match result {
        Err(BrokerError::NoResponders(_) | BrokerError::Timeout(_)) => {}
        other => panic!(
            "a request nobody serves should fail with NoResponders or Timeout, got {other:?}"
        ),
    }
    tracing::debug!(elapsed = ?started.elapsed(), "a request nobody serves failed");

    // A responder that never replies.
    let silent = names.topic("silent");
    let _silent = ignore(respond(broker, &silent, &names.group("silent")).await);
    let timeout = Duration::from_millis(300);
    let result = within(
        timeout + ARRIVE,
        "a request whose responder never replies",
        broker.request(Message::new(&silent, "hello?"), timeout),
    )
    .await;
    assert!(
        matches!(result, Err(BrokerError::Timeout(_))),
        "a request whose responder never replies should time out, got {result:?}"
    );

    // Two members of one group share the requests.
    const N: usize = 20;
    let shared = names.topic("shared");
    let group = names.group("shared");
    let _a = serve("a", respond(broker, &shared, &group).await);
    let _b = serve("b", respond(broker, &shared, &group).await);
    let mut served = BTreeMap::<String, usize>::new();
    for i in 0..N {
        let reply = within(
            ARRIVE,
            "a request to a group of two",
            broker.request(
                Message::new(&shared, format!("q{i}"))
                    .with_header("x-conformance-id", format!("{i}")),
                Duration::from_secs(5),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("request q{i} to a group of two failed: {e}"));
        let body = text(&reply);
        let (member, question) = body
            .split_once(':')
            .unwrap_or_else(|| panic!("unexpected reply {body:?}"));
        assert_eq!(
            question,
            format!("q{i}"),
            "the reply answers its own request"
        );
        assert_eq!(
            reply.header("x-conformance-id"),
            Some(i.to_string().as_str())
        );
        *served.entry(member.to_owned()).or_default() += 1;
    }
    assert!(
        served.len() == 2,
        "both members of a responder group should serve requests; served: {served:?}"
    );
}
