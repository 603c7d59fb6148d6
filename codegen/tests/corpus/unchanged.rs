//! Changes that change no value any party sends or reads: nothing to report.

use crate::support::cases;

cases! {
    /// Fields, operations and enum variants in another order.
    reordered => Ok []
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum Shape { Circle { radius: f64 }, Square { side: f64 } }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String, pub quantity: u32, pub shape: Shape }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder) -> Order;
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum Shape { Square { side: f64 }, Circle { radius: f64 } }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub shape: Shape, pub quantity: u32, pub sku: String }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub quantity: u32, pub sku: String, pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder) -> Order;
        }
    }

    /// Documentation everywhere: on the service, the operations, the
    /// fields and the enum variants (which turns schemars' `enum` into a
    /// `oneOf` of constants).
    changed_docs => Ok []
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped }
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order { pub id: u64, pub status: Status }
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError { #[status(404)] NotFound }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<Order, OrderError>;
        }
    }
    after {
        /// Where an order is.
        #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
        #[serde(rename_all = "snake_case")]
        pub enum Status {
            /// Accepted.
            Placed,
            /// On its way.
            Shipped,
        }
        /// An order.
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Order {
            /// Its id.
            pub id: u64,
            /// Where it is.
            pub status: Status,
        }
        /// What goes wrong.
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            /// No such order.
            #[status(404)]
            NotFound,
        }
        /// Orders.
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            /// Fetch one order.
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<Order, OrderError>;
        }
    }

    /// A new optional field in a request: old bodies are still accepted, and
    /// the old (open) schema already allowed the property.
    new_optional_request_field => Ok []
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder { pub sku: String }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct NewOrder {
            pub sku: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub note: Option<String>,
        }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: NewOrder);
        }
    }

    /// A new optional field in a response: old clients ignore it.
    new_optional_response_field => Ok []
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
        pub struct Order {
            pub id: u64,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub note: Option<String>,
        }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// A type renamed with the same shape: the values are the same.
    renamed_type => Ok []
    before {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct Line { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, line: Line) -> Line;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema)]
        pub struct OrderLine { pub sku: String, pub quantity: u32 }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "POST", path = "/lines")]
            async fn add(&self, line: OrderLine) -> OrderLine;
        }
    }

    /// A response type closed with `deny_unknown_fields`: servers still
    /// send the properties they declare, and nothing else.
    response_closed => Ok []
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
        #[serde(deny_unknown_fields)]
        pub struct Order { pub id: u64 }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Order;
        }
    }

    /// Argument names are not on the wire (path parameters aside).
    renamed_arguments => Ok []
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, order: String, #[header("x-trace")] trace: Option<String>);
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
            #[event(topic = "shop.placed")]
            async fn placed(&self, event: u64);
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String> }
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, new_order: String, #[header("x-trace")] trace_id: Option<String>);
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] query: Filter) -> Vec<u64>;
            #[event(topic = "shop.placed")]
            async fn placed(&self, order_id: u64);
        }
    }
}
