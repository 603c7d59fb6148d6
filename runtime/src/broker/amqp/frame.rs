//! How large a message's properties are on the wire, and the check that
//! they fit the connection's frame.
//!
//! The properties, headers included, travel in one content header frame,
//! which must fit in the frame size the connection negotiated (128 KiB on
//! RabbitMQ); RabbitMQ closes the connection on a larger one. So every
//! publish is measured first ([`check_frame`]) and refused with
//! [`TooLarge`] when it would not fit. The size is counted from the
//! properties as AMQP 0-9-1 encodes them (the same bytes lapin writes),
//! not by encoding them: that would cost a buffer grown to the size of
//! the properties and the encoding of each header, on every publish.

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::BasicProperties;

use super::super::limits::{self, MessagePart, TooLarge};
use super::codec::decoded_name;

/// The bytes of a content header frame besides the properties: the frame
/// header (7) and end (1), class id (2), weight (2) and body size (8).
const CONTENT_HEADER_OVERHEAD: usize = 20;

/// The property flags: one 16-bit word holds the 14 of `basic`.
const FLAGS: usize = 2;

/// The size of `properties` as sent in a content header frame.
fn properties_size(properties: &BasicProperties) -> usize {
    let short = |s: &Option<ShortString>| s.as_ref().map_or(0, short_string_size);
    let octet = |o: &Option<u8>| o.map_or(0, |_| 1);
    FLAGS
        + short(properties.content_type())
        + short(properties.content_encoding())
        + properties.headers().as_ref().map_or(0, table_size)
        + octet(properties.delivery_mode())
        + octet(properties.priority())
        + short(properties.correlation_id())
        + short(properties.reply_to())
        + short(properties.expiration())
        + short(properties.message_id())
        + properties.timestamp().map_or(0, |_| 8)
        + short(properties.kind())
        + short(properties.user_id())
        + short(properties.app_id())
        + short(properties.cluster_id())
}

/// A short string: its length in one byte, then its bytes.
fn short_string_size(s: &ShortString) -> usize {
    1 + s.as_str().len()
}

/// A table: its length in four bytes, then each entry's name (a short
/// string) and value (its type in one byte, then the value).
fn table_size(table: &FieldTable) -> usize {
    4 + table
        .inner()
        .iter()
        .map(|(name, value)| short_string_size(name) + 1 + value_size(value))
        .sum::<usize>()
}

/// The bytes of a header value, after its type.
fn value_size(value: &AMQPValue) -> usize {
    match value {
        AMQPValue::Void => 0,
        AMQPValue::Boolean(_) | AMQPValue::ShortShortInt(_) | AMQPValue::ShortShortUInt(_) => 1,
        AMQPValue::ShortInt(_) | AMQPValue::ShortUInt(_) => 2,
        AMQPValue::LongInt(_) | AMQPValue::LongUInt(_) | AMQPValue::Float(_) => 4,
        // Its scale in one byte, its value in four.
        AMQPValue::DecimalValue(_) => 5,
        AMQPValue::LongLongInt(_) | AMQPValue::Double(_) | AMQPValue::Timestamp(_) => 8,
        AMQPValue::ShortString(s) => short_string_size(s),
        AMQPValue::LongString(s) => 4 + s.as_bytes().len(),
        AMQPValue::ByteArray(b) => 4 + b.as_slice().len(),
        AMQPValue::FieldArray(a) => {
            4 + a
                .as_slice()
                .iter()
                .map(|v| 1 + value_size(v))
                .sum::<usize>()
        }
        AMQPValue::FieldTable(t) => table_size(t),
    }
}

/// Refuses `properties` that would not fit in a content header frame of
/// `frame_max` bytes with `reserve` bytes to spare. A `frame_max` of 0
/// means the connection set no limit.
pub(crate) fn check_frame(
    properties: &BasicProperties,
    frame_max: u32,
    reserve: usize,
) -> Result<(), TooLarge> {
    if frame_max == 0 {
        return Ok(());
    }
    let frame_max = usize::try_from(frame_max).unwrap_or(usize::MAX);
    let limit = frame_max.saturating_sub(CONTENT_HEADER_OVERHEAD + reserve);
    let size = properties_size(properties);
    if size <= limit {
        return Ok(());
    }
    let largest = limits::largest_header(properties.headers().iter().flat_map(|table| {
        table
            .inner()
            .iter()
            .map(|(name, value)| (name.as_str(), name.as_str().len() + value_size(value)))
    }));
    let mut limit_name = format!(
        "the AMQP frame size this connection negotiated ({frame_max} bytes), which the \
         message properties and headers must fit in"
    );
    if reserve > 0 {
        limit_name.push_str(&format!(
            ", less {reserve} bytes kept for the headers of a dead letter"
        ));
    }
    Err(TooLarge {
        part: MessagePart::Headers {
            largest: decoded_name(&largest),
        },
        size,
        limit,
        limit_name,
    })
}

#[cfg(test)]
mod tests {
    use lapin::types::{DecimalValue, FieldArray, LongString};

    use super::*;
    use crate::broker::amqp::codec::{encode, PERSISTENT};
    use crate::broker::Message;

    /// The size as lapin's own encoder writes the properties.
    fn encoded_size(properties: &BasicProperties) -> usize {
        let serialize = lapin::protocol::basic::gen_properties::<Vec<u8>>(properties);
        serialize(Vec::new().into())
            .expect("the properties encode")
            .write
            .len()
    }

    #[test]
    fn the_size_is_that_of_the_encoded_properties_for_every_property_and_value() {
        assert_eq!(properties_size(&BasicProperties::default()), FLAGS);
        assert_eq!(
            properties_size(&BasicProperties::default()),
            encoded_size(&BasicProperties::default())
        );

        let mut inner = FieldTable::default();
        inner.insert("count".into(), AMQPValue::LongLongInt(3));
        inner.insert("reason".into(), AMQPValue::LongString("rejected".into()));
        let values = [
            AMQPValue::Void,
            AMQPValue::Boolean(true),
            AMQPValue::ShortShortInt(-1),
            AMQPValue::ShortShortUInt(1),
            AMQPValue::ShortInt(-2),
            AMQPValue::ShortUInt(2),
            AMQPValue::LongInt(-3),
            AMQPValue::LongUInt(3),
            AMQPValue::LongLongInt(-4),
            AMQPValue::Float(1.5),
            AMQPValue::Double(2.5),
            AMQPValue::DecimalValue(DecimalValue {
                scale: 2,
                value: 314,
            }),
            AMQPValue::ShortString("short".into()),
            AMQPValue::LongString(LongString::from("a long string, é".as_bytes())),
            AMQPValue::ByteArray(vec![1, 2, 3].into()),
            AMQPValue::Timestamp(1_700_000_000),
            AMQPValue::FieldArray(FieldArray::from(vec![
                AMQPValue::LongInt(1),
                AMQPValue::FieldTable(inner.clone()),
            ])),
            AMQPValue::FieldTable(inner),
        ];
        let mut table = FieldTable::default();
        for (n, value) in values.into_iter().enumerate() {
            table.insert(format!("header-{n}").into(), value);
        }
        let every = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("identity".into())
            .with_headers(table)
            .with_delivery_mode(2)
            .with_priority(5)
            .with_correlation_id("c-1".into())
            .with_reply_to("amq.rabbitmq.reply-to".into())
            .with_expiration("60000".into())
            .with_message_id("m-1".into())
            .with_timestamp(1_700_000_000)
            .with_type("orders.placed".into())
            .with_user_id("guest".into())
            .with_app_id("accord".into())
            .with_cluster_id("c".into());
        assert_eq!(properties_size(&every), encoded_size(&every));

        let event = encode(
            &Message::new("orders.placed", "{}")
                .with_header("ce-id", "e-1")
                .with_header("content-type", "application/json")
                .with_key("customer-7"),
            PERSISTENT,
            1024,
        )
        .unwrap();
        assert_eq!(properties_size(&event), encoded_size(&event));
    }

    #[test]
    fn the_properties_are_checked_against_the_frame() {
        let small = encode(
            &Message::new("orders.placed", "{}")
                .with_header("ce-id", "e-1")
                .with_header("ce-specversion", "1.0")
                .with_header("content-type", "application/json")
                .with_header("traceparent", "00-abc-def-01")
                .with_key("customer-7"),
            PERSISTENT,
            1024,
        )
        .unwrap();
        let size = properties_size(&small);
        assert!(size > 100 && size < 300, "{size}");
        let frame = u32::try_from(size + CONTENT_HEADER_OVERHEAD).unwrap();
        assert!(check_frame(&small, frame, 0).is_ok());
        assert!(check_frame(&small, frame - 1, 0).is_err());
        assert!(check_frame(&small, frame + 10, 11).is_err());
        assert!(check_frame(&small, 0, 0).is_ok(), "0: no limit");

        let big = Message::new("t", "")
            .with_header("ce-id", "x".repeat(100_000))
            .with_header("other", "y".repeat(40_000));
        let big = encode(&big, PERSISTENT, usize::MAX).unwrap();
        let error = check_frame(&big, 131_072, 0).unwrap_err();
        assert_eq!(
            error.part,
            MessagePart::Headers {
                largest: "ce-id".into()
            }
        );
        assert!(error.size > 140_000);
        assert_eq!(error.limit, 131_072 - CONTENT_HEADER_OVERHEAD);
    }
}
