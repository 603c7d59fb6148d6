//! Operations: added, removed, renamed, their kind and their bindings.

use crate::support::cases;

cases! {
    /// A request is removed: its callers get 404s.
    operation_removed => Error ["operation-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// A new request: compatible, and a minor version is enough.
    operation_added => Ok ["operation-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }

    /// The same binding under another name: a rename, not a removal and an
    /// addition.
    operation_renamed => Error ["operation-renamed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get_order(&self, id: u64) -> String;
        }
    }

    /// A request became an event of the same name.
    kind_changed => Error ["kind-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/notify")]
            async fn notify(&self, message: String);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[event(topic = "shop.notify")]
            async fn notify(&self, message: String);
        }
    }

    /// POST became PATCH.
    method_changed => Error ["method-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/a")]
            async fn a(&self, body: String) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "PATCH", path = "/a")]
            async fn a(&self, body: String) -> String;
        }
    }

    /// A new path.
    path_changed => Error ["path-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/v2/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }

    /// Only the name of a path parameter: HTTP calls still match, calls
    /// over a broker name the parameter.
    path_parameter_renamed => Error ["path-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{id}")]
            async fn get(&self, id: u64) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "GET", path = "/orders/{order_id}")]
            async fn get(&self, order_id: u64) -> String;
        }
    }

    /// 201 became 200.
    success_status_changed => Error ["success-status-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders", status = 201)]
            async fn place(&self, sku: String) -> u64;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/orders", status = 200)]
            async fn place(&self, sku: String) -> u64;
        }
    }

    /// An idempotent POST no longer is: clients that retry it repeat it.
    idempotency_dropped => Error ["idempotency-dropped"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/charge", idempotent)]
            async fn charge(&self, cents: u64);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/charge")]
            async fn charge(&self, cents: u64);
        }
    }

    /// A POST declared idempotent.
    idempotency_added => Ok ["idempotency-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "POST", path = "/charge")]
            async fn charge(&self, cents: u64);
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0")]
        pub trait Api {
            #[request(method = "POST", path = "/charge", idempotent)]
            async fn charge(&self, cents: u64);
        }
    }
}
