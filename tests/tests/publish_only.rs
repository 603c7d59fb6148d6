//! A generated publisher needs only the publish capability: a sink that
//! implements `Publish` and nothing else (a recorder here; an outbox or a
//! publish-only broker in an application) drives `OrdersPublisher`.

use std::sync::{Arc, Mutex};

use accord::broker::{BrokerError, Message, Publish};
use accord::events::envelope;
use accord::PublishError;
use orders_contract::{CustomerId, Line, OrderId, OrderPlaced, OrdersPublisher};

/// Keeps what it is given, or refuses everything.
#[derive(Clone, Default)]
struct Recorder {
    published: Arc<Mutex<Vec<Message>>>,
    refuse: bool,
}

impl Publish for Recorder {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        if self.refuse {
            return Err(BrokerError::Rejected("the recorder refuses".into()));
        }
        self.published.lock().unwrap().push(message);
        Ok(())
    }
}

fn placed() -> OrderPlaced {
    OrderPlaced {
        order_id: OrderId(7),
        customer_id: CustomerId("c-42".into()),
        lines: vec![Line {
            sku: "tea".into(),
            quantity: 2,
        }],
        total_cents: 900,
    }
}

#[tokio::test]
async fn a_publish_only_sink_receives_the_event_in_its_envelope() {
    let recorder = Recorder::default();
    let events = OrdersPublisher::new(recorder.clone());
    let id = events.order_placed(&placed()).await.unwrap();

    let published = recorder.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1, "one event, one message: {published:?}");
    let message = &published[0];
    assert_eq!(message.topic, "orders.placed");
    assert_eq!(
        message.key.as_deref(),
        Some("c-42"),
        "the key is the customer id"
    );
    assert_eq!(message.header(envelope::ID), Some(id.as_str()));
    assert_eq!(message.header(envelope::TYPE), Some("orders.placed"));
    assert_eq!(message.header(envelope::SOURCE), Some("/orders"));
    envelope::check(&message.headers, &message.topic).expect("a complete CloudEvents envelope");
    let body: OrderPlaced = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(body, placed());
}

#[tokio::test]
async fn a_refusing_sink_fails_the_publish_with_its_reason() {
    let events = OrdersPublisher::new(Recorder {
        refuse: true,
        ..Recorder::default()
    });
    let error = events.order_placed(&placed()).await.unwrap_err();
    assert!(
        matches!(&error, PublishError::Broker(BrokerError::Rejected(reason)) if reason == "the recorder refuses"),
        "{error:?}"
    );
}
