//! The address policy inside reqwest, for every client that connects where a user told it to (the
//! prober's HTTP check, the notifier's HTTP receivers): a resolver that hands reqwest only the
//! addresses the policy allows, the error it leaves in the chain when it refuses, and how to find
//! the reason of a failure in a reqwest error without its URL.

use std::fmt;
use std::sync::Arc;

use healthmon_domain::address_policy::{AddressPolicy, Refusal};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address_policy::{ResolveError, resolve_vetted};

/// Resolves names through the address policy, so a name that resolves (or is rebound) to a refused
/// address never gets a connection.
pub struct PolicyResolver {
    policy: Arc<AddressPolicy>,
}

impl PolicyResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            // Port 0: the client puts in the URL's port.
            match resolve_vetted(&policy, name.as_str(), 0).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                Err(refused @ ResolveError::Refused { .. }) => Err(PolicyRefused(refused.to_string()).into()),
                Err(unresolvable) => Err(unresolvable.into()),
            }
        })
    }
}

/// A connection the address policy stopped before it was made.
#[derive(Debug)]
pub struct PolicyRefused(pub String);

impl From<Refusal> for PolicyRefused {
    fn from(refusal: Refusal) -> Self {
        Self(refusal.to_string())
    }
}

impl fmt::Display for PolicyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused by target policy: {}", self.0)
    }
}

impl std::error::Error for PolicyRefused {}

/// The first error of type `E` in `error`'s chain: a refusal sits deep in it (under "dns error" or
/// "error following redirect") and is the one reason that matters when present.
pub fn find_in_chain<E: std::error::Error + 'static>(error: &reqwest::Error) -> Option<&E> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<E>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

/// The innermost cause's text, which names what went wrong without reqwest's URL.
pub fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
