//! Keeps one idle authenticated session per SSH target between probes, so a target probed every
//! few seconds is not put through a handshake and authentication each time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use healthmon_domain::SshCheck;
use uuid::Uuid;

use super::session::Connection;

/// A session idle longer than this is not reused. Long enough for the default 60 s interval, short
/// enough to stay under the idle timeouts of common NATs and load balancers (4 minutes and up),
/// which drop a connection silently: a probe on such a session would only time out.
const MAX_IDLE: Duration = Duration::from_secs(2 * 60);

struct Idle {
    /// The check the session was opened for, sealed credentials included: any change reconnects.
    definition: SshCheck,
    connection: Connection,
    since: Instant,
}

#[derive(Default)]
pub struct SessionPool {
    idle: Mutex<HashMap<Uuid, Idle>>,
}

impl SessionPool {
    /// The idle session for this target and definition, taken out so no other probe shares it.
    /// Call it off the async runtime: dropping a session may wait on its socket.
    pub fn take(&self, target_id: Uuid, definition: &SshCheck) -> Option<Connection> {
        let idle = self.lock().remove(&target_id)?;
        (idle.definition == *definition && idle.since.elapsed() < MAX_IDLE).then_some(idle.connection)
    }

    /// Keeps `connection` for the target's next probe, and drops sessions left idle too long.
    pub fn put(&self, target_id: Uuid, definition: &SshCheck, connection: Connection) {
        let idle = Idle { definition: definition.clone(), connection, since: Instant::now() };
        let expired: Vec<Idle> = {
            let mut sessions = self.lock();
            sessions.insert(target_id, idle);
            let stale: Vec<Uuid> =
                sessions.iter().filter(|(_, idle)| idle.since.elapsed() >= MAX_IDLE).map(|(id, _)| *id).collect();
            stale.into_iter().filter_map(|id| sessions.remove(&id)).collect()
        };
        // Closed outside the lock.
        drop(expired);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Idle>> {
        // The map is consistent between statements, so a panic elsewhere leaves it usable.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
