//! The consumers a group reads a topic through: one for an unordered
//! group; one per key partition (max ack pending 1) and one for the events
//! without a key for a group ordered by key.

use super::pull::MAX_BATCH;
use super::topology::{ConsumerSpec, StreamRef, MIN_MAX_ACK_PENDING};
use super::{names, NatsBroker};
use crate::broker::{BrokerError, KeyOrder, SubscribeOptions};

/// The consumers `group` reads `topic` through on `stream`, each with the
/// most messages one pull asks for.
pub(super) fn group_specs(
    stream: &StreamRef,
    topic: &str,
    group: &str,
    options: &SubscribeOptions,
) -> Result<Vec<(ConsumerSpec, usize)>, BrokerError> {
    let group_name = NatsBroker::consumer_name(group);
    let max_ack_pending = i64::try_from(options.max_in_flight.saturating_mul(4))
        .unwrap_or(i64::MAX)
        .max(MIN_MAX_ACK_PENDING);
    let spec =
        |name: String, description: String, filter_subject: String, pending: i64| ConsumerSpec {
            name,
            description,
            filter_subject,
            ack_wait: options.ack_wait,
            max_ack_pending: pending,
            topic: topic.to_owned(),
            stream_is_topic: stream.owned,
            siblings: Vec::new(),
        };
    let mut specs = match options.key_order {
        KeyOrder::Unordered if stream.owned => vec![(
            // The stream holds the topic and its key partitions: read it
            // whole.
            spec(
                group_name,
                format!("accord: group `{group}` on `{topic}`"),
                String::new(),
                max_ack_pending,
            ),
            MAX_BATCH,
        )],
        KeyOrder::Unordered => vec![(
            // An adopted stream may capture several of the group's topics;
            // each needs a consumer of its own.
            spec(
                format!("{group_name}_{}", names::topic_token(topic)),
                format!("accord: group `{group}` on `{topic}`"),
                topic.to_owned(),
                max_ack_pending,
            ),
            MAX_BATCH,
        )],
        KeyOrder::ByKey if stream.partitions == 0 => {
            return Err(BrokerError::Rejected(format!(
                "group `{group}` asks for per-key order on `{topic}`, but its stream `{}` has \
                 no key partitions (accord did not declare it); declare the stream with the \
                 subjects `{topic}` and `{}` for each partition, or subscribe unordered",
                stream.name,
                names::partition_subject(topic, 0).replace("._key.0", "._key.<n>"),
            )))
        }
        KeyOrder::ByKey => {
            let mut specs: Vec<(ConsumerSpec, usize)> = (0..stream.partitions)
                .map(|p| {
                    (
                        spec(
                            format!("{group_name}__p{p}"),
                            format!(
                                "accord: group `{group}` on `{topic}`, key partition {p}, in order"
                            ),
                            names::partition_subject(topic, p),
                            // One message unacked across the whole group:
                            // the next of the partition waits for it.
                            1,
                        ),
                        1,
                    )
                })
                .collect();
            specs.push((
                spec(
                    format!("{group_name}__unkeyed"),
                    format!("accord: group `{group}` on `{topic}`, events without a key"),
                    topic.to_owned(),
                    max_ack_pending,
                ),
                MAX_BATCH,
            ));
            specs
        }
    };
    let siblings: Vec<String> = specs.iter().map(|(spec, _)| spec.name.clone()).collect();
    for (spec, _) in &mut specs {
        spec.siblings.clone_from(&siblings);
    }
    Ok(specs)
}
