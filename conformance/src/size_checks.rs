//! Checks of messages over a backend's size limits: each is refused before
//! it is sent, with an error that names what is too large, and the
//! connection keeps working. Backends without size limits (the in-memory
//! broker) have nothing to refuse, so these checks are run by the backends
//! that do, not listed in [`for_each_check!`](crate::for_each_check).

use accord::broker::{
    Broker, BrokerError, Delivery, Message, MessagePart, PendingRequest, Responder,
    SubscribeOptions, DEFAULT_MAX_HEADER_BYTES,
};

use crate::{expect_delivery, expect_quiet, text, within, Names, Task, ARRIVE};

/// The size of the oversized headers: over [`DEFAULT_MAX_HEADER_BYTES`],
/// over RabbitMQ's 128 KiB frame, under NATS's 1 MiB `max_payload`.
const BIG: usize = 200 * 1024;

fn expect_too_large_header(result: Result<impl std::fmt::Debug, BrokerError>, header: &str) {
    let error = match result {
        Err(BrokerError::TooLarge(error)) => error,
        other => panic!("a {BIG}-byte `{header}` is refused as too large, not {other:?}"),
    };
    assert_eq!(
        error.part,
        MessagePart::Header(header.to_owned()),
        "{error}"
    );
    assert_eq!(error.size, header.len() + BIG, "{error}");
    assert_eq!(error.limit, DEFAULT_MAX_HEADER_BYTES, "{error}");
    let text = BrokerError::TooLarge(error).to_string();
    assert!(
        text.contains(&format!("`{header}`")) && text.contains(&(header.len() + BIG).to_string()),
        "the error names the header and its size: {text}"
    );
    assert!(text.len() < 400, "the error is short: {text}");
}

/// An event whose `ce-id` is 200 KB is refused at publish with
/// [`BrokerError::TooLarge`] naming the header, its size and the limit; a
/// request with a 200 KB header likewise; a reply with one is replaced by
/// the short reply the server makes of the error. After each, the next
/// publish on the same handle is delivered, and `connections()`, the
/// backend's count of connections opened, shows none was lost.
pub async fn oversized_messages_refused<B: Broker>(
    broker: &B,
    prefix: &str,
    connections: impl Fn() -> usize,
) {
    let names = Names::new(prefix, "oversized");
    let topic = names.topic("t");
    let mut sub = within(
        ARRIVE,
        "joining a group",
        broker.subscribe(SubscribeOptions::new(names.group("g"), [&topic])),
    )
    .await
    .unwrap_or_else(|e| panic!("joining a group: {e}"));
    let before = connections();

    let big_id = Message::new(&topic, "big").with_header("ce-id", "i".repeat(BIG));
    expect_too_large_header(
        within(ARRIVE, "publishing a big event id", broker.publish(big_id)).await,
        "ce-id",
    );
    within(
        ARRIVE,
        "publishing after a refused publish",
        broker.publish(Message::new(&topic, "next").with_header("ce-id", "next-1")),
    )
    .await
    .unwrap_or_else(|e| panic!("the publish after a refused one fails: {e}"));
    let delivery = expect_delivery(&mut sub, "the event published after a refused one").await;
    assert_eq!(text(delivery.message()), "next");
    within(ARRIVE, "acking", delivery.ack())
        .await
        .expect("acking on the same connection");
    expect_quiet(&mut sub, "the group: the refused event was not sent").await;

    let rpc = names.topic("rpc");
    let mut responder = within(ARRIVE, "serving requests", broker.respond(&rpc, "server"))
        .await
        .unwrap_or_else(|e| panic!("serving requests: {e}"));
    let _server = Task::spawn(async move {
        while let Some(request) = responder.next().await {
            let answer = if request.message().header("x-want-big").is_some() {
                Message::new("", "big").with_header("x-big", "b".repeat(BIG))
            } else {
                Message::new("", "small")
            };
            let _ = request
                .reply_or(answer, |too_large| {
                    Message::new("", "too large").with_header("x-why", too_large.to_string())
                })
                .await;
        }
    });
    let big_request = Message::new(&rpc, "").with_header("x-big", "b".repeat(BIG));
    expect_too_large_header(
        within(
            ARRIVE * 2,
            "a request with a big header",
            broker.request(big_request, ARRIVE),
        )
        .await,
        "x-big",
    );
    let reply = within(
        ARRIVE * 2,
        "a request after a refused one",
        broker.request(Message::new(&rpc, ""), ARRIVE),
    )
    .await
    .unwrap_or_else(|e| panic!("the request after a refused one fails: {e}"));
    assert_eq!(text(&reply), "small");
    let reply = within(
        ARRIVE * 2,
        "a request whose reply is too large",
        broker.request(
            Message::new(&rpc, "").with_header("x-want-big", "1"),
            ARRIVE,
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("a request whose reply is too large gets no answer: {e}"));
    assert_eq!(
        text(&reply),
        "too large",
        "the server's short reply instead"
    );
    let why = reply.header("x-why").unwrap_or_default();
    assert!(why.contains("`x-big`"), "the reply says why: {why}");

    within(
        ARRIVE,
        "publishing at the end",
        broker.publish(Message::new(&topic, "last")),
    )
    .await
    .unwrap_or_else(|e| panic!("publishing at the end: {e}"));
    let delivery = expect_delivery(&mut sub, "the last event").await;
    within(ARRIVE, "acking", delivery.ack())
        .await
        .expect("acking");
    assert_eq!(
        connections(),
        before,
        "no connection was lost and opened again"
    );
}
