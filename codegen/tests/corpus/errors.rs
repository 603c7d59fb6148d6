//! Typed errors: variants, their statuses and their schemas.

use crate::support::cases;

cases! {
    /// A new variant old clients cannot read.
    error_variant_added => Error ["error-variant-added"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(404)] NotFound { id: u64 },
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(404)] NotFound { id: u64 },
            #[status(410)] Archived { id: u64 },
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }

    /// A variant is never returned any more.
    error_variant_removed => Ok ["error-variant-removed"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(404)] NotFound,
            #[status(409)] Conflict,
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(404)] NotFound,
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }

    /// A variant is sent with another status.
    error_status_changed => Error ["error-status-changed"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(409)] OutOfStock { sku: String },
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(422)] OutOfStock { sku: String },
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }

    /// A request that could not fail has a typed error.
    error_added => Error ["error-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(404)] NotFound,
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }

    /// A request no longer fails with its typed error.
    error_removed => Ok ["error-removed"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        pub enum OrderError {
            #[status(404)] NotFound,
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> Result<String, OrderError>;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }

    /// A field inside a variant changed type.
    error_widened => Error ["error-widened:type-changed"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(404)] NotFound { id: u64 },
            #[status(409)] OutOfStock { sku: String, available: u32 },
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(404)] NotFound { id: u64 },
            #[status(409)] OutOfStock { sku: String, available: String },
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }

    /// A variant gained a required field: the error carries more than old
    /// clients read, which they ignore.
    error_narrowed => Ok ["error-narrowed:required-property-added"]
    before {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(409)] OutOfStock { sku: String },
        }
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }
    after {
        #[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
        #[serde(tag = "code", rename_all = "snake_case")]
        pub enum OrderError {
            #[status(409)] OutOfStock { sku: String, available: u32 },
        }
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders")]
            async fn place(&self, sku: String) -> Result<u64, OrderError>;
        }
    }
}
