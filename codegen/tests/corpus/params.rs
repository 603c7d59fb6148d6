//! Path, query and header parameters.

use crate::support::cases;

cases! {
    /// A new required query parameter: old clients do not send it.
    query_param_added_required => Error ["param-added-required"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String>, pub customer: String }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// A new optional query parameter.
    query_param_added_optional => Ok ["param-added"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String>, pub limit: Option<u32> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// A query parameter is gone: old clients still send it, and the
    /// server ignores it.
    query_param_removed => Error ["param-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String>, pub limit: Option<u32> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<String> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// An optional query parameter became required.
    query_param_became_required => Error ["param-became-required"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: Option<u32> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// A smaller integer type for a query parameter.
    query_param_narrowed => Error ["param-narrowed:bound-tightened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: Option<u32> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: Option<u8> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// A larger integer type for a query parameter.
    query_param_widened => Ok ["param-widened:bound-loosened"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: Option<u8> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub limit: Option<u16> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// A status filter lost a value.
    query_param_enum_value_removed => Error ["param-narrowed:enum-value-removed"]
    before {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped, Cancelled }
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<Status> }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }
    after {
        #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
        #[serde(rename_all = "snake_case")]
        pub enum Status { Placed, Shipped }
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Filter { pub status: Option<Status> }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] filter: Filter) -> Vec<u64>;
        }
    }

    /// What an omitted parameter means changed.
    query_default_changed => Error ["default-changed:default-changed"]
    before {
        fn fifty() -> u32 { 50 }
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Page { #[serde(default = "fifty")] pub limit: u32 }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] page: Page) -> Vec<u64>;
        }
    }
    after {
        fn twenty() -> u32 { 20 }
        #[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
        pub struct Page { #[serde(default = "twenty")] pub limit: u32 }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders")]
            async fn list(&self, #[query] page: Page) -> Vec<u64>;
        }
    }

    /// A new required header.
    header_added_required => Error ["param-added-required"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64, #[header("x-reason")] reason: String);
        }
    }

    /// A header is gone.
    header_removed => Error ["param-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64, #[header("idempotency-key")] key: Option<String>,
                #[header("x-reason")] reason: Option<String>);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64, #[header("idempotency-key")] key: Option<String>);
        }
    }

    /// A required header became optional.
    header_became_optional => Ok ["param-became-optional"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64, #[header("idempotency-key")] key: String);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "DELETE", path = "/orders/{id}")]
            async fn cancel(&self, id: u64, #[header("idempotency-key")] key: Option<String>);
        }
    }

    /// A path parameter's type changed: old ids may not parse, and
    /// generated clients take another type.
    path_param_type_changed => Error ["param-narrowed:type-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: String) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }
}
