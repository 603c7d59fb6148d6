//! The semver policy on the same kinds of change at other versions.

use crate::support::cases;

cases! {
    /// A breaking change with a new major version is allowed.
    breaking_with_major_version => Ok ["operation-removed"]
    before {
        #[accord::service(name = "shop", version = "1.4.2")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "2.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// Below 1.0.0 the minor number is the major one: 0.3 to 0.4 may break.
    breaking_in_0x_minor_version => Ok ["operation-removed"]
    before {
        #[accord::service(name = "shop", version = "0.3.1")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "0.4.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// ... and 0.3.1 to 0.3.2 may not.
    breaking_in_0x_patch_version => Error ["operation-removed"]
    before {
        #[accord::service(name = "shop", version = "0.3.1")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "0.3.2")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// A compatible change in a patch version: allowed, with a warning.
    compatible_with_patch_version => Warning ["operation-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.0.1")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }

    /// A published version changed in place, compatibly: still an error.
    changed_in_place => Error ["operation-added"]
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }

    /// Only documentation changed, but the version is published: an error
    /// too, since published files would change.
    docs_changed_in_place => Error []
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            /// Now documented.
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// The same contract at the same version.
    unchanged_same_version => Ok []
    before {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "1.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }

    /// A pre-release promises nothing, not even to its release.
    breaking_after_pre_release => Ok ["operation-removed"]
    before {
        #[accord::service(name = "shop", version = "2.0.0-rc.1")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
            #[request(method = "GET", path = "/b")]
            async fn b(&self) -> String;
        }
    }
    after {
        #[accord::service(name = "shop", version = "2.0.0")]
        pub trait Api {
            #[request(method = "GET", path = "/a")]
            async fn a(&self) -> String;
        }
    }
}
