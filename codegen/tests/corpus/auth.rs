//! Authentication: a new requirement, another scheme or a new scope breaks
//! callers; fewer requirements do not.

use crate::support::cases;

cases! {
    /// A public request now requires a bearer token.
    auth_added_to_a_request => Error ["auth-added"]
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
            #[request(method = "GET", path = "/a", auth = "bearer")]
            async fn a(&self) -> String;
        }
    }

    /// Auth on the service reaches every request but the public one.
    auth_added_to_the_service => Error ["auth-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/health")]
            async fn health(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "api_key")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/health", auth = "none")]
            async fn health(&self) -> String;
        }
    }

    /// A request made public: compatible once servers are upgraded.
    auth_removed => Ok ["auth-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "GET", path = "/a", auth = "none")]
            async fn a(&self) -> String;
        }
    }

    /// Bearer tokens replaced by API keys.
    auth_scheme_changed => Error ["auth-scheme-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "api_key")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// The API key moved to another header: old callers send it where the
    /// server no longer looks.
    api_key_header_renamed => Error ["auth-scheme-changed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "api_key")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "api_key", api_key_header = "x-shop-key")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// A second scope on a request.
    scope_added => Error ["scope-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "POST", path = "/a", scopes = ["shop:write"])]
            async fn a(&self, value: String) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "POST", path = "/a", scopes = ["shop:write", "shop:admin"])]
            async fn a(&self, value: String) -> String;
        }
    }

    /// A scope dropped: more callers are let in.
    scope_removed => Ok ["scope-removed"]
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "POST", path = "/a", scopes = ["shop:write", "shop:admin"])]
            async fn a(&self, value: String) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.1.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "POST", path = "/a", scopes = ["shop:write"])]
            async fn a(&self, value: String) -> String;
        }
    }

    /// The same requirement written on each request instead of the service
    /// is no change.
    auth_moved_to_the_requests => Ok []
    before {
        #[accord::service(name = "shop", version = "1.0.0", auth = "bearer")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "GET", path = "/a", auth = "bearer")]
            async fn a(&self) -> String;
        }
    }
}
