//! What a client presents when a request requires a credential.
//!
//! The contract says per request which credential it requires (the route's
//! [`Credential`]); a client given [`Credentials`] asks them for one on
//! every such call, so a provider that refreshes a token is consulted each
//! time and a static one costs a clone. Public requests send none.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http::HeaderValue;

use crate::dispatch::BoxFuture;
use crate::error::BoxError;
use crate::wire::Credential;

type Fetch = Arc<dyn Fn() -> BoxFuture<Result<String, BoxError>> + Send + Sync>;

#[derive(Clone)]
enum Source {
    Static(String),
    Fetched(Fetch),
}

impl Source {
    fn from_fn<F, Fut, E>(fetch: F) -> Source
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        Source::Fetched(Arc::new(move || {
            let future = fetch();
            Box::pin(async move { future.await.map_err(Into::into) })
        }))
    }

    async fn get(&self) -> Result<String, BoxError> {
        match self {
            Source::Static(value) => Ok(value.clone()),
            Source::Fetched(fetch) => fetch().await,
        }
    }
}

/// The credentials a client presents: a bearer token, an API key, or
/// both, each fixed or fetched per call by an async function (which may
/// cache and refresh).
#[derive(Clone, Default)]
pub struct Credentials {
    bearer: Option<Source>,
    api_key: Option<Source>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let describe = |source: &Option<Source>| match source {
            None => "none",
            Some(Source::Static(_)) => "static",
            Some(Source::Fetched(_)) => "fetched per call",
        };
        f.debug_struct("Credentials")
            .field("bearer", &describe(&self.bearer))
            .field("api_key", &describe(&self.api_key))
            .finish()
    }
}

impl Credentials {
    /// No credentials.
    pub fn new() -> Self {
        Credentials::default()
    }

    /// Sends `token` as `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.bearer = Some(Source::Static(token.into()));
        self
    }

    /// Asks `fetch` for the bearer token before each call that needs one;
    /// its error fails the call with [`CallError::Credential`](crate::CallError::Credential).
    pub fn bearer_from<F, Fut, E>(mut self, fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.bearer = Some(Source::from_fn(fetch));
        self
    }

    /// Sends `key` in the contract's API key header.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Source::Static(key.into()));
        self
    }

    /// Asks `fetch` for the API key before each call that needs one.
    pub fn api_key_from<F, Fut, E>(mut self, fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.api_key = Some(Source::from_fn(fetch));
        self
    }

    /// The header and value to send for `credential`, or `None` when these
    /// credentials hold none of that kind (the server then answers 401).
    pub(crate) async fn header(
        &self,
        credential: Credential,
    ) -> Result<Option<(&'static str, HeaderValue)>, BoxError> {
        let (source, header) = match credential {
            Credential::Bearer => (&self.bearer, "authorization"),
            Credential::ApiKey { header } => (&self.api_key, header),
        };
        let Some(source) = source else {
            return Ok(None);
        };
        let secret = source.get().await?;
        let text = match credential {
            Credential::Bearer => format!("Bearer {secret}"),
            Credential::ApiKey { .. } => secret,
        };
        let mut value = HeaderValue::try_from(text).map_err(|_| {
            BoxError::from(format!(
                "the credential for `{header}` holds characters a header cannot carry"
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some((header, value)))
    }
}
