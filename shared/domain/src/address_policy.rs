//! Which IP addresses a probe may reach: link-local and cloud metadata addresses never, then the
//! operator's `HEALTHMON_TARGET_ALLOW` and `HEALTHMON_TARGET_DENY` CIDR lists.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Reaching these would let a probe read cloud credentials or talk to the host's link-local
/// services, so no setting opens them.
/// (Built in a const, so a wrong prefix length fails the build, not a probe.)
const ALWAYS_REFUSED: [IpNet; 5] = [
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)), 128),
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)), 32),
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)), 32),
];

/// The well-known NAT64 prefix: where a NAT64 gateway exists, `64:ff9b::a9fe:a9fe` reaches
/// 169.254.169.254, so the always-refused check looks through it too.
const NAT64_PREFIX: [u16; 6] = [0x64, 0xff9b, 0, 0, 0, 0];

/// The target address policy. The default refuses only the always-refused ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    deny: Vec<IpNet>,
    allow: Vec<IpNet>,
}

/// Why an address may not be probed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{address} is a link-local or cloud metadata address and is never probed")]
    AlwaysRefused { address: IpAddr },
    #[error("{address} is in HEALTHMON_TARGET_DENY ({rule})")]
    Denied { address: IpAddr, rule: IpNet },
}

impl AddressPolicy {
    /// Parses the two comma-separated CIDR lists; a bare address stands for itself alone.
    pub fn from_lists(deny: &str, allow: &str) -> Result<Self, String> {
        Ok(Self {
            deny: parse_cidr_list("HEALTHMON_TARGET_DENY", deny)?,
            allow: parse_cidr_list("HEALTHMON_TARGET_ALLOW", allow)?,
        })
    }

    pub fn deny(&self) -> &[IpNet] {
        &self.deny
    }

    pub fn allow(&self) -> &[IpNet] {
        &self.allow
    }

    /// Accepts or refuses one address a probe would connect to.
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        let judged = judged_as(address);
        if is_always_refused(address) || is_always_refused(judged) {
            return Err(Refusal::AlwaysRefused { address });
        }
        if self.allow.iter().any(|rule| rule.contains(&judged)) {
            return Ok(());
        }
        match self.deny.iter().find(|rule| rule.contains(&judged)) {
            Some(rule) => Err(Refusal::Denied { address, rule: *rule }),
            None => Ok(()),
        }
    }
}

impl fmt::Display for AddressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |list: &[IpNet]| list.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        write!(f, "deny [{}], allow [{}]", join(&self.deny), join(&self.allow))
    }
}

fn parse_cidr_list(setting: &str, text: &str) -> Result<Vec<IpNet>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            parse_cidr(item).ok_or_else(|| {
                format!("{setting}: \"{item}\" is not a CIDR block (like 10.0.0.0/8 or fd00::/8) or an IP address")
            })
        })
        .collect()
}

fn parse_cidr(item: &str) -> Option<IpNet> {
    if let Ok(net) = item.parse::<IpNet>() {
        // `10.1.2.3/8` means 10.0.0.0/8; showing it that way makes refusals easier to read.
        return Some(net.trunc());
    }
    match item.parse::<IpAddr>().ok()? {
        IpAddr::V4(address) => Some(IpNet::V4(Ipv4Net::from(address))),
        IpAddr::V6(address) => Some(IpNet::V6(Ipv6Net::from(address))),
    }
}

fn is_always_refused(address: IpAddr) -> bool {
    let nat64_payload = match address {
        IpAddr::V6(v6) if v6.segments()[..6] == NAT64_PREFIX => {
            let [.., high, low] = v6.segments();
            Some(IpAddr::V4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))))
        }
        _ => None,
    };
    [Some(address), nat64_payload]
        .into_iter()
        .flatten()
        .any(|candidate| ALWAYS_REFUSED.iter().any(|refused| refused.contains(&candidate)))
}

/// The address the connection really reaches: IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible
/// (`::a.b.c.d`) addresses are the IPv4 address they carry, and the unspecified address connects to
/// the local host, so it is judged as loopback.
fn judged_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_loopback() => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| ipv4_compatible(v6)) {
            Some(v4) => judged_as(IpAddr::V4(v4)),
            None => address,
        },
    }
}

fn ipv4_compatible(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    (segments[..6] == [0; 6]).then(|| Ipv4Addr::from((u32::from(segments[6]) << 16) | u32::from(segments[7])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn policy(deny: &str, allow: &str) -> AddressPolicy {
        AddressPolicy::from_lists(deny, allow).unwrap()
    }

    #[test]
    fn default_policy_refuses_link_local_and_metadata_addresses() {
        // Given the default policy
        let policy = AddressPolicy::default();
        // When each always-refused address is checked
        for address in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::ffff",
            "fd00:ec2::254",
            "100.100.100.200",
            "168.63.129.16",
        ] {
            // Then it is refused as link-local or metadata
            assert_eq!(
                policy.check(ip(address)),
                Err(Refusal::AlwaysRefused { address: ip(address) }),
                "{address} must be refused"
            );
        }
    }

    #[test]
    fn default_policy_accepts_loopback_private_and_public_addresses() {
        // Given the default policy
        let policy = AddressPolicy::default();
        // When ordinary addresses, including the neighbours of refused ones, are checked
        for address in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.4",
            "fd00::1",
            "fd00:ec2::253",
            "100.100.100.201",
            "168.63.129.17",
            "169.255.0.1",
            "fec0::1",
            "93.184.216.34",
            "2606:4700::1",
        ] {
            // Then they are accepted
            assert_eq!(policy.check(ip(address)), Ok(()), "{address} must be accepted");
        }
    }

    #[test]
    fn ipv4_addresses_wrapped_in_ipv6_are_judged_as_the_ipv4_address() {
        // Given a policy denying 10.0.0.0/8
        let policy = policy("10.0.0.0/8", "");
        // When metadata and denied addresses arrive IPv4-mapped, IPv4-compatible or through NAT64
        let wrapped_metadata = ["::ffff:169.254.169.254", "::169.254.169.254", "64:ff9b::a9fe:a9fe"];
        // Then they are refused like the IPv4 address they carry
        for address in wrapped_metadata {
            assert!(matches!(policy.check(ip(address)), Err(Refusal::AlwaysRefused { .. })), "{address}");
        }
        assert!(matches!(policy.check(ip("::ffff:10.9.9.9")), Err(Refusal::Denied { .. })));
        assert!(matches!(policy.check(ip("::10.9.9.9")), Err(Refusal::Denied { .. })));
        assert_eq!(policy.check(ip("::ffff:192.168.1.1")), Ok(()));
    }

    #[test]
    fn unspecified_addresses_are_judged_as_loopback() {
        // Given a policy that denies loopback
        let policy = policy("127.0.0.0/8, ::1", "");
        // When the unspecified addresses, which connect to the local host, are checked
        // Then they are refused as loopback would be
        assert!(matches!(policy.check(ip("0.0.0.0")), Err(Refusal::Denied { .. })));
        assert!(matches!(policy.check(ip("::")), Err(Refusal::Denied { .. })));
        assert_eq!(AddressPolicy::default().check(ip("0.0.0.0")), Ok(()));
    }

    #[test]
    fn deny_list_refuses_and_names_the_rule() {
        // Given a deny list
        let policy = policy("10.0.0.0/8, 192.168.1.7", "");
        // When an address inside it is checked
        let refusal = policy.check(ip("10.1.2.3")).unwrap_err();
        // Then the refusal names the setting and the rule
        assert_eq!(refusal.to_string(), "10.1.2.3 is in HEALTHMON_TARGET_DENY (10.0.0.0/8)");
        assert_eq!(
            policy.check(ip("192.168.1.7")).unwrap_err().to_string(),
            "192.168.1.7 is in HEALTHMON_TARGET_DENY (192.168.1.7/32)"
        );
        assert_eq!(policy.check(ip("192.168.1.8")), Ok(()));
        assert_eq!(policy.check(ip("11.0.0.1")), Ok(()));
    }

    #[test]
    fn allow_list_carves_exceptions_out_of_the_deny_list() {
        // Given deny everything private, allow one subnet
        let policy = policy("10.0.0.0/8", "10.5.0.0/16");
        // When addresses inside and outside the exception are checked
        // Then only the exception is accepted
        assert_eq!(policy.check(ip("10.5.1.1")), Ok(()));
        assert!(matches!(policy.check(ip("10.6.1.1")), Err(Refusal::Denied { .. })));
    }

    #[test]
    fn allow_list_never_reopens_always_refused_addresses() {
        // Given an allow list covering everything
        let policy = policy("", "0.0.0.0/0, ::/0, 169.254.169.254");
        // When metadata addresses are checked
        // Then they are still refused
        assert!(matches!(policy.check(ip("169.254.169.254")), Err(Refusal::AlwaysRefused { .. })));
        assert!(matches!(policy.check(ip("::ffff:169.254.169.254")), Err(Refusal::AlwaysRefused { .. })));
        assert!(matches!(policy.check(ip("fd00:ec2::254")), Err(Refusal::AlwaysRefused { .. })));
    }

    #[test]
    fn always_refused_message_is_clear() {
        let refusal = AddressPolicy::default().check(ip("169.254.169.254")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "169.254.169.254 is a link-local or cloud metadata address and is never probed"
        );
    }

    #[test]
    fn lists_tolerate_whitespace_empty_items_and_host_bits() {
        // Given lists written loosely
        let policy = policy(" 10.1.2.3/8 ,\n fd00::/8,, ", " ::1 ");
        // Then they are normalised CIDR blocks, a bare address being a single-address block
        assert_eq!(policy.deny(), &["10.0.0.0/8".parse::<IpNet>().unwrap(), "fd00::/8".parse().unwrap()]);
        assert_eq!(policy.allow(), &["::1/128".parse::<IpNet>().unwrap()]);
        assert_eq!(AddressPolicy::from_lists("", ""), Ok(AddressPolicy::default()));
    }

    #[test]
    fn a_bad_item_is_named_in_the_error() {
        // When a list holds something that is not a CIDR block
        let deny_error = AddressPolicy::from_lists("10.0.0.0/8, example.com", "").unwrap_err();
        let allow_error = AddressPolicy::from_lists("", "10.0.0.0/33").unwrap_err();
        // Then the error names the setting and the item
        assert!(deny_error.contains("HEALTHMON_TARGET_DENY") && deny_error.contains("\"example.com\""), "{deny_error}");
        assert!(
            allow_error.contains("HEALTHMON_TARGET_ALLOW") && allow_error.contains("\"10.0.0.0/33\""),
            "{allow_error}"
        );
    }
}
