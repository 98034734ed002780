//! Applies the target address policy to real names and URLs: resolves a host and keeps only the
//! addresses a probe may reach, and vets a target's URL when it is written.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use healthmon_domain::address_policy::{AddressPolicy, Refusal};
use url::{Host, Url};

/// A write must not wait on a slow resolver for long: a name that does not answer in time is
/// treated like one that does not resolve yet, and the prober judges it again on every probe.
const VET_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a host yielded no address a probe may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// The name did not resolve (or resolved to nothing).
    Unresolvable { host: String, cause: String },
    /// Every address the name resolved to is refused; `refusal` is the first one's reason.
    Refused { host: String, refusal: Refusal },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unresolvable { host, cause } => write!(f, "cannot resolve {host}: {cause}"),
            Self::Refused { host, refusal } => write!(f, "{host} resolves only to refused addresses: {refusal}"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// Resolves `host` and keeps the addresses `policy` accepts, in resolver order.
pub async fn resolve_allowed(policy: &AddressPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    resolve_vetted(policy, host, port).await.map_err(|error| error.to_string())
}

/// [`resolve_allowed`] with an error that tells a refusal from a resolver failure.
pub async fn resolve_vetted(policy: &AddressPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    let unresolvable = |cause: String| ResolveError::Unresolvable { host: host.to_owned(), cause };
    let bare_host = host.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')).unwrap_or(host);
    let resolved: Vec<SocketAddr> =
        tokio::net::lookup_host((bare_host, port)).await.map_err(|error| unresolvable(error.to_string()))?.collect();
    let mut first_refusal = None;
    let mut allowed = Vec::with_capacity(resolved.len());
    for address in resolved {
        match policy.check(address.ip()) {
            Ok(()) => allowed.push(address),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    match (allowed.is_empty(), first_refusal) {
        (false, _) => Ok(allowed),
        (true, Some(refusal)) => Err(ResolveError::Refused { host: host.to_owned(), refusal }),
        (true, None) => Err(unresolvable("no addresses".to_owned())),
    }
}

/// Decides whether a target URL may be stored. An IP-literal host is judged directly; a name is
/// refused only when it resolves and every address is refused, since a name that does not resolve
/// yet may be created before its service (the prober judges it again on every probe).
pub async fn vet_url(policy: &AddressPolicy, url: &str) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|error| format!("not a valid URL: {error}"))?;
    let port = parsed.port_or_known_default().unwrap_or(0);
    let name = match parsed.host() {
        None => return Err("the URL has no host".to_owned()),
        Some(Host::Domain(name)) => name,
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
            return check_ip_literal_host(policy, &parsed).map_err(|r| r.to_string());
        }
    };
    match tokio::time::timeout(VET_RESOLVE_TIMEOUT, resolve_vetted(policy, name, port)).await {
        Ok(Err(refused @ ResolveError::Refused { .. })) => Err(refused.to_string()),
        Ok(Ok(_) | Err(ResolveError::Unresolvable { .. })) | Err(_) => Ok(()),
    }
}

/// Judges a URL whose host is an IP address; a name passes here, since only resolving it tells
/// where it leads. HTTP clients skip their resolver for IP literals, so this check is what keeps
/// them from connecting to a refused address written directly in a URL.
pub fn check_ip_literal_host(policy: &AddressPolicy, url: &Url) -> Result<(), Refusal> {
    match url.host() {
        Some(Host::Ipv4(address)) => policy.check(IpAddr::V4(address)),
        Some(Host::Ipv6(address)) => policy.check(IpAddr::V6(address)),
        Some(Host::Domain(_)) | None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_denied() -> AddressPolicy {
        AddressPolicy::from_lists("127.0.0.0/8, ::1/128", "").unwrap()
    }

    #[tokio::test]
    async fn metadata_ip_literals_are_refused_without_resolving() {
        // Given the default policy
        let policy = AddressPolicy::default();
        // When URLs name metadata addresses directly, in several spellings
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/",
            "http://2852039166/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://192.0.0.192/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
        ] {
            // Then each is refused with the policy's reason
            let error = vet_url(&policy, url).await.unwrap_err();
            assert!(error.contains("never probed"), "{url}: {error}");
        }
    }

    #[tokio::test]
    async fn resolving_a_literal_that_carries_metadata_yields_no_address() {
        // The prober's TCP and SSH checks and its HTTP resolver all take their addresses from here.
        for host in ["2002:a9fe:a9fe::1", "[64:ff9b:1::a9fe:a9fe]", "192.0.0.192"] {
            let error = resolve_vetted(&AddressPolicy::default(), host, 22).await.unwrap_err();
            assert!(matches!(error, ResolveError::Refused { .. }), "{host}: {error}");
            assert!(error.to_string().contains("never probed"), "{host}: {error}");
        }
    }

    #[tokio::test]
    async fn denied_ip_literals_are_refused_and_others_accepted() {
        let policy = loopback_denied();
        assert!(vet_url(&policy, "http://127.0.0.1:8080/health").await.unwrap_err().contains("HEALTHMON_TARGET_DENY"));
        assert!(vet_url(&policy, "http://[::1]/").await.is_err());
        assert_eq!(vet_url(&policy, "http://10.0.0.1/").await, Ok(()));
        assert_eq!(vet_url(&AddressPolicy::default(), "http://127.0.0.1/").await, Ok(()));
    }

    #[tokio::test]
    async fn a_name_resolving_only_to_denied_addresses_is_refused() {
        // Given loopback is denied
        let policy = loopback_denied();
        // When a URL names localhost
        let error = vet_url(&policy, "http://localhost:9/").await.unwrap_err();
        // Then it is refused, naming the host and the refused address
        assert!(error.starts_with("localhost resolves only to refused addresses: 127.0.0.1"), "{error}");
        let resolve_error = resolve_allowed(&policy, "localhost", 9).await.unwrap_err();
        assert!(resolve_error.contains("HEALTHMON_TARGET_DENY (127.0.0.0/8)"), "{resolve_error}");
    }

    #[tokio::test]
    async fn allowed_addresses_of_a_name_are_kept_with_the_port() {
        let policy = AddressPolicy::from_lists("127.0.0.0/8, ::1/128", "127.0.0.1").unwrap();
        let addresses = resolve_allowed(&policy, "localhost", 8123).await.unwrap();
        assert!(addresses.contains(&"127.0.0.1:8123".parse().unwrap()), "{addresses:?}");
        assert!(addresses.iter().all(|address| address.ip() == IpAddr::from([127, 0, 0, 1])), "{addresses:?}");
    }

    #[test]
    fn a_resolver_failure_reads_differently_from_a_refusal() {
        // No lookup of an unknown name here: it would query a non-loopback name server.
        let unresolvable = ResolveError::Unresolvable { host: "db.internal".into(), cause: "no addresses".into() };
        assert_eq!(unresolvable.to_string(), "cannot resolve db.internal: no addresses");
        let refusal = AddressPolicy::default().check(IpAddr::from([169, 254, 169, 254])).unwrap_err();
        let refused = ResolveError::Refused { host: "metadata.internal".into(), refusal };
        assert_eq!(
            refused.to_string(),
            "metadata.internal resolves only to refused addresses: \
             169.254.169.254 is a link-local or cloud metadata address and is never probed"
        );
    }
}
