//! RabbitMQ: accord's `AmqpBroker` against bare lapin.

use std::sync::Arc;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::Subscriber;
use anyhow::Result;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use orders_contract::OrderPlaced;
use tokio::time::Instant;

use super::{
    accord_probes, cancel, drain, events, interleave, publish_windowed, run_id, ConsumeFrom, Cycle,
    Handler, Live, Measured, Sink, Throughput, IN_FLIGHT,
};
use crate::bare_lapin::BareLapin;
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

pub async fn run(plan: &Plan) -> Result<(Vec<Cycle>, Vec<Cycle>)> {
    interleave(plan, "amqp", || accord_cycle(plan), || bare_cycle(plan)).await
}

async fn accord_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let options = AmqpOptions::default().prefix(format!("accord-bench-{id}"));
    let broker = AmqpBroker::connect_with(&plan.amqp_url, options).await?;
    let remove = {
        let broker = broker.clone();
        async move {
            let _ = broker.delete_topology().await;
            broker.close().await;
        }
    };
    match accord_measure(plan, &broker).await {
        Ok(live) => Ok(live.stopping(remove)),
        Err(error) => {
            remove.await;
            Err(error)
        }
    }
}

async fn accord_measure(plan: &Plan, broker: &AmqpBroker) -> Result<Measured> {
    // RabbitMQ keeps only what a declared group's queue collects.
    broker.declare_group("bench", &[TOPIC]).await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        let event = &events[(n % CUSTOMERS) as usize];
        async { publisher.order_placed(event).await.map(drop) }
    })
    .await?;

    let sink = Sink::new();
    let started = Instant::now();
    let handle = Subscriber::new(broker.clone(), "bench")
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    match drain(&sink, ConsumeFrom::Start(started), published).await {
        Ok(consume_rate) => Ok(Measured {
            throughput: Throughput {
                publish_rate,
                consume_rate,
                published,
            },
            probe: accord_probes(&publisher, &sink),
            sink,
            stop: Box::pin(handle.shutdown()),
        }),
        Err(error) => {
            handle.shutdown().await;
            Err(error)
        }
    }
}

async fn bare_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let bare = Arc::new(BareLapin::connect(&plan.amqp_url, &id, TOPIC).await?);
    let remove = {
        let bare = bare.clone();
        async move { bare.delete().await }
    };
    match bare_measure(plan, &bare).await {
        Ok(live) => Ok(live.stopping(remove)),
        Err(error) => {
            remove.await;
            Err(error)
        }
    }
}

async fn bare_measure(plan: &Plan, bare: &Arc<BareLapin>) -> Result<Measured> {
    let events = events();
    let (publish_rate, published) =
        publish_windowed(plan, |n| bare.publish(&events[(n % CUSTOMERS) as usize])).await?;

    let sink = Sink::new();
    let started = Instant::now();
    let channel = bare.consuming.create_channel().await?;
    channel
        .basic_qos(IN_FLIGHT as u16, BasicQosOptions { global: false })
        .await?;
    let mut consumer = channel
        .basic_consume(
            bare.queue.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let consumer_sink = sink.clone();
    let consuming = tokio::spawn(async move {
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let event: OrderPlaced = serde_json::from_slice(&delivery.data)?;
            consumer_sink.handle(&event);
            delivery.acker.ack(BasicAckOptions::default()).await?;
        }
        anyhow::Ok(())
    });
    let stop = async move {
        cancel(consuming).await;
        let _ = channel.close(200, "OK".into()).await;
    };
    let consume_rate = match drain(&sink, ConsumeFrom::Start(started), published).await {
        Ok(rate) => rate,
        Err(error) => {
            stop.await;
            return Err(error);
        }
    };
    let probe_sink = sink.clone();
    let bare = bare.clone();
    Ok(Measured {
        throughput: Throughput {
            publish_rate,
            consume_rate,
            published,
        },
        probe: Box::new(move |n| {
            let bare = bare.clone();
            let sink = probe_sink.clone();
            tokio::spawn(async move { bare.publish(&order_placed(n, sink.stamp())).await })
        }),
        sink,
        stop: Box::pin(stop),
    })
}
