//! The clone-cheap state every handler receives.

use std::sync::Arc;

use healthmon_bus::EventBus;
use healthmon_runtime::ops::Readiness;
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use tokio_util::sync::CancellationToken;

use crate::ApiConfig;
use crate::auth::limiter::LoginLimiter;
use crate::board::HealthBoard;
use crate::routes::table::RouteDoc;

/// One `Arc`: axum clones the state for every request, and `/healthz` answers thousands a second.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The same state with `/Routes`' list, known once the router is built.
    pub fn with_routes(&self, routes: Vec<RouteDoc>) -> Self {
        Self::new(Shared { routes: Arc::new(routes), ..(*self.0).clone() })
    }
}

impl Shared {
    /// The first slot of the raw samples still kept (`None`: all are).
    pub fn raw_kept_from_slot(&self) -> Option<i64> {
        self.config.raw_retention.horizon(healthmon_store::now()).map(|at| at.timestamp_millis())
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub store: Arc<dyn Store>,
    /// Where resync republishes the store's view (everything else is published via the outbox).
    pub bus: Arc<dyn EventBus>,
    pub board: HealthBoard,
    pub relay: OutboxRelay,
    pub readiness: Readiness,
    /// CloudEvents `source` of what this API emits.
    pub source: Arc<str>,
    /// Fires at shutdown; long-lived responses (SSE) end with it.
    pub shutdown: CancellationToken,
    pub limiter: Arc<LoginLimiter>,
    pub config: Arc<ApiConfig>,
    /// What the router serves, for `/Routes`.
    pub routes: Arc<Vec<RouteDoc>>,
    /// The status page's history figures, kept between requests.
    pub status_figures: Arc<crate::status::figures::FigureCache>,
    /// The status page's renderings, kept while what they show stands.
    pub status_pages: Arc<crate::status::cache::PageCache>,
}
