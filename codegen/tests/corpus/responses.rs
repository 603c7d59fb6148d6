//! Responses, judged by the forward rule: old clients must accept every
//! value the new server returns.

use crate::support::cases;

cases! {
    /// A field old clients require may be missing.
    response_field_became_optional => Error ["response-widened:property-became-optional"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, pub note: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, #[serde(default, skip_serializing_if = "String::is_empty")] pub note: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// A field old clients require is gone.
    response_field_removed => Error ["response-widened:required-property-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, pub total: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// A new required field: old clients ignore it, and new clients may
    /// rely on it once servers send it.
    response_required_field_added => Ok ["response-narrowed:required-property-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, pub total: u64 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// A status old clients do not know.
    response_enum_value_added => Error ["response-widened:enum-value-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/status")]
            async fn status(&self, id: u64) -> Status;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped, Returned }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/status")]
            async fn status(&self, id: u64) -> Status;
        }
    }

    /// A status is never returned any more.
    response_enum_value_removed => Ok ["response-narrowed:enum-value-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped, Returned }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/status")]
            async fn status(&self, id: u64) -> Status;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/status")]
            async fn status(&self, id: u64) -> Status;
        }
    }

    /// The response may now be null.
    response_became_nullable => Error ["response-widened:became-nullable"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/note")]
            async fn note(&self, id: u64) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}/note")]
            async fn note(&self, id: u64) -> Option<String>;
        }
    }

    /// Larger numbers than old clients accept.
    response_bound_loosened => Error ["response-widened:bound-loosened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Review { pub stars: u8 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/reviews/{id}")]
            async fn review(&self, id: u64) -> Review;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Review { pub stars: u16 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/reviews/{id}")]
            async fn review(&self, id: u64) -> Review;
        }
    }

    /// A response's type changed.
    response_type_changed => Error ["response-widened:type-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/count")]
            async fn count(&self) -> u64;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/count")]
            async fn count(&self) -> String;
        }
    }

    /// Old clients reject properties they do not know, and a new one is
    /// sent.
    response_field_added_to_closed_object => Error ["response-widened:property-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Order { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Order { pub id: u64, #[serde(default)] pub note: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// A request that returned nothing returns a value (and so succeeds
    /// with 200, not 204).
    response_added => Error ["success-status-changed", "response-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship")]
            async fn ship(&self, id: u64) -> String;
        }
    }

    /// A request no longer returns the value old clients read.
    response_removed => Error ["response-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship", status = 200)]
            async fn ship(&self, id: u64) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders/{id}/ship", status = 200)]
            async fn ship(&self, id: u64);
        }
    }
}
