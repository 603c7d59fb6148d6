//! Events: topics, keys, payloads, added and removed events.

use crate::support::cases;

cases! {
    /// An event is no longer published: its subscribers wait in vain.
    event_removed => Error ["operation-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
            #[event(topic = "shop.cancelled")]
            async fn cancelled(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }

    /// A new event.
    event_added => Ok ["operation-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
            #[event(topic = "shop.shipped")]
            async fn shipped(&self, event: Placed);
        }
    }

    /// The same topic under another method name.
    event_renamed => Error ["operation-renamed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn order_placed(&self, event: Placed);
        }
    }

    /// A new topic: subscribers of the old one receive nothing.
    topic_changed => Error ["topic-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.orders.placed")]
            async fn placed(&self, event: Placed);
        }
    }

    /// Events are ordered per key; another key orders them differently.
    event_key_changed => Error ["event-key-changed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub customer: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed", key = "customer")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub customer: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed", key = "id")]
            async fn placed(&self, event: Placed);
        }
    }

    /// A payload field old subscribers require is gone.
    payload_field_removed => Error ["event-payload-widened:required-property-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub total: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }

    /// A status old subscribers do not know.
    payload_enum_value_added => Error ["event-payload-widened:enum-value-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Changed { pub id: u64, pub status: Status }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.changed")]
            async fn changed(&self, event: Changed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped, Lost }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Changed { pub id: u64, pub status: Status }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.changed")]
            async fn changed(&self, event: Changed);
        }
    }

    /// A new required payload field: old subscribers ignore it; new
    /// subscribers need publishers that send it.
    payload_required_field_added => Ok ["event-payload-narrowed:required-property-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub total: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }

    /// A payload field became an `Option`: it may be null, and (as schemars
    /// reads serde) it may be missing.
    payload_became_nullable => Error ["event-payload-widened:property-became-optional", "event-payload-widened:became-nullable"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub note: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Placed { pub id: u64, pub note: Option<String> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: Placed);
        }
    }
}
