//! Which IP addresses a probe may reach: link-local and cloud metadata addresses never, then the
//! operator's `HEALTHMON_TARGET_ALLOW` and `HEALTHMON_TARGET_DENY` CIDR lists. An IPv6 address
//! that carries an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) is judged by
//! the IPv4 address too, since a gateway or tunnel delivers it there.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use ipnet::IpNet;
use ipnet::{Ipv4Net, Ipv6Net};

/// Reaching these would let a probe read cloud credentials or talk to the host's link-local
/// services, so no setting opens them.
/// (Built in a const, so a wrong prefix length fails the build, not a probe.)
const ALWAYS_REFUSED: [IpNet; 6] = [
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16),
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
    // AWS's IPv6 instance metadata service.
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)), 128),
    // Alibaba Cloud metadata.
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)), 32),
    // Azure's WireServer.
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)), 32),
    // Oracle Cloud metadata (besides 169.254.169.254).
    IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)), 32),
];

/// An IPv6 form that carries an IPv4 address some gateway or tunnel delivers packets to, so
/// reaching the IPv6 address may mean reaching the IPv4 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// 64:ff9b::/96 (RFC 6052): the last 32 bits.
    Nat64WellKnown,
    /// 64:ff9b:1::/48 (RFC 8215), the IPv4 address placed for any of the RFC 6052 prefix lengths
    /// a gateway inside it may use (/48, /56, /64, /96).
    Nat64LocalUse,
    /// 2002::/16 (RFC 3056): bits 16 to 48.
    SixToFour,
    /// 2001:0::/32 (RFC 4380): the client's address, the last 32 bits inverted.
    Teredo,
}

impl fmt::Display for Embedding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nat64WellKnown => "NAT64, 64:ff9b::/96",
            Self::Nat64LocalUse => "local-use NAT64, 64:ff9b:1::/48",
            Self::SixToFour => "6to4, 2002::/16",
            Self::Teredo => "Teredo, 2001::/32",
        })
    }
}

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
    /// `address` itself passes, but the IPv4 address it carries does not.
    #[error("{address} carries {carried} ({embedding}): {refusal}")]
    Carried { address: IpAddr, carried: Ipv4Addr, embedding: Embedding, refusal: Box<Refusal> },
}

impl AddressPolicy {
    /// The policy of two lists of CIDR blocks, as the settings hold them.
    pub fn new(deny: Vec<IpNet>, allow: Vec<IpNet>) -> Self {
        Self { deny, allow }
    }

    /// Parses the two comma-separated CIDR lists; a bare address stands for itself alone.
    pub fn from_lists(deny: &str, allow: &str) -> Result<Self, String> {
        let named =
            |setting: &str, text: &str| parse_cidr_list(text).map_err(|problem| format!("{setting}: {problem}"));
        Ok(Self::new(named("HEALTHMON_TARGET_DENY", deny)?, named("HEALTHMON_TARGET_ALLOW", allow)?))
    }

    pub fn deny(&self) -> &[IpNet] {
        &self.deny
    }

    pub fn allow(&self) -> &[IpNet] {
        &self.allow
    }

    /// Accepts or refuses one address a probe would connect to. An address that carries IPv4
    /// addresses is refused when any of them would be; an allow rule matching the address as
    /// written or any address it carries accepts it, except for the always-refused ones.
    pub fn check(&self, address: IpAddr) -> Result<(), Refusal> {
        let judged = judged_as(address);
        if is_always_refused(address) || is_always_refused(judged) {
            return Err(Refusal::AlwaysRefused { address });
        }
        let carried = carried_ipv4(judged);
        let refused_inside = |embedding, inner: Ipv4Addr, refusal| Refusal::Carried {
            address,
            carried: inner,
            embedding,
            refusal: Box::new(refusal),
        };
        for &(embedding, inner) in &carried {
            if is_always_refused(IpAddr::V4(inner)) {
                return Err(refused_inside(embedding, inner, Refusal::AlwaysRefused { address: IpAddr::V4(inner) }));
            }
        }
        let allowed = |candidate: IpAddr| self.allow.iter().any(|rule| rule.contains(&candidate));
        if allowed(judged) || carried.iter().any(|&(_, inner)| allowed(IpAddr::V4(inner))) {
            return Ok(());
        }
        let denied_by = |candidate: IpAddr| self.deny.iter().find(|rule| rule.contains(&candidate)).copied();
        if let Some(rule) = denied_by(judged) {
            return Err(Refusal::Denied { address, rule });
        }
        for &(embedding, inner) in &carried {
            if let Some(rule) = denied_by(IpAddr::V4(inner)) {
                return Err(refused_inside(embedding, inner, Refusal::Denied { address: IpAddr::V4(inner), rule }));
            }
        }
        Ok(())
    }
}

impl fmt::Display for AddressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |list: &[IpNet]| list.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        write!(f, "deny [{}], allow [{}]", join(&self.deny), join(&self.allow))
    }
}

/// Parses a comma-separated list of CIDR blocks (white space ignored); a bare address stands for
/// itself alone, and `10.1.2.3/8` reads as `10.0.0.0/8`.
pub fn parse_cidr_list(text: &str) -> Result<Vec<IpNet>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact
        .split(',')
        .filter(|item| !item.is_empty())
        .map(|item| {
            parse_cidr(item)
                .ok_or_else(|| format!("\"{item}\" is not a CIDR block (like 10.0.0.0/8 or fd00::/8) or an IP address"))
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
    ALWAYS_REFUSED.iter().any(|refused| refused.contains(&address))
}

/// The IPv4 addresses a gateway or tunnel would deliver `address` to (none for most addresses).
/// IPv4-mapped and -compatible addresses are not here: [`judged_as`] already reads them as IPv4.
fn carried_ipv4(address: IpAddr) -> Vec<(Embedding, Ipv4Addr)> {
    let IpAddr::V6(v6) = address else {
        return Vec::new();
    };
    let octets = v6.octets();
    let at = |indices: [usize; 4]| Ipv4Addr::from(indices.map(|index| octets[index]));
    match v6.segments() {
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => vec![(Embedding::Nat64WellKnown, at([12, 13, 14, 15]))],
        // RFC 6052 section 2.2: the IPv4 address skips octet 8 (bits 64 to 71).
        [0x64, 0xff9b, 0x1, ..] => [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12], [12, 13, 14, 15]]
            .into_iter()
            .map(|indices| (Embedding::Nat64LocalUse, at(indices)))
            .collect(),
        [0x2002, ..] => vec![(Embedding::SixToFour, at([2, 3, 4, 5]))],
        [0x2001, 0, ..] => {
            let client = !u32::from(at([12, 13, 14, 15]));
            vec![(Embedding::Teredo, Ipv4Addr::from(client))]
        }
        _ => Vec::new(),
    }
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
        // When metadata and denied addresses arrive IPv4-mapped or IPv4-compatible
        let wrapped_metadata = ["::ffff:169.254.169.254", "::169.254.169.254"];
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
        for carrier in ["2002:a9fe:a9fe::1", "64:ff9b:1::a9fe:a9fe", "64:ff9b::c000:c0", "2001:0:1:2:3:4:5601:5601"] {
            assert!(matches!(policy.check(ip(carrier)), Err(Refusal::Carried { .. })), "{carrier}");
        }
    }

    /// The refusal of an address that carries `inner` through `embedding` because `inner` is
    /// always refused.
    fn carried_metadata(address: &str, inner: &str, embedding: Embedding) -> Result<(), Refusal> {
        let carried: Ipv4Addr = inner.parse().unwrap();
        Err(Refusal::Carried {
            address: ip(address),
            carried,
            embedding,
            refusal: Box::new(Refusal::AlwaysRefused { address: IpAddr::V4(carried) }),
        })
    }

    #[test]
    fn oracle_cloud_metadata_is_always_refused() {
        // Given the default policy, when Oracle Cloud's metadata address is checked, plain or mapped
        for address in ["192.0.0.192", "::ffff:192.0.0.192", "::192.0.0.192"] {
            // Then it is refused as metadata, while its neighbours are not
            assert_eq!(
                AddressPolicy::default().check(ip(address)),
                Err(Refusal::AlwaysRefused { address: ip(address) })
            );
        }
        assert_eq!(AddressPolicy::default().check(ip("192.0.0.191")), Ok(()));
        assert_eq!(AddressPolicy::default().check(ip("192.0.0.193")), Ok(()));
    }

    #[test]
    fn six_to_four_addresses_are_judged_by_the_ipv4_address_in_bits_16_to_48() {
        let policy = AddressPolicy::default();
        // 2002:AABB:CCDD::/48 is the 6to4 network of AA.BB.CC.DD, whatever follows
        let six_to_four = Embedding::SixToFour;
        assert_eq!(
            policy.check(ip("2002:a9fe:a9fe::1")),
            carried_metadata("2002:a9fe:a9fe::1", "169.254.169.254", six_to_four)
        );
        assert_eq!(policy.check(ip("2002:a9fe:1::")), carried_metadata("2002:a9fe:1::", "169.254.0.1", six_to_four));
        assert_eq!(
            policy.check(ip("2002:c000:c0:ffff::")),
            carried_metadata("2002:c000:c0:ffff::", "192.0.0.192", six_to_four)
        );
        assert_eq!(
            policy.check(ip("2002:6464:64c8::")),
            carried_metadata("2002:6464:64c8::", "100.100.100.200", six_to_four)
        );
        // A 6to4 address of an ordinary IPv4 address, and the ordinary 2001:db8::/32, are accepted
        assert_eq!(policy.check(ip("2002:5db8:d822::1")), Ok(()));
        assert_eq!(policy.check(ip("2001:db8::a9fe:a9fe")), Ok(()));
    }

    #[test]
    fn nat64_addresses_are_judged_by_the_ipv4_address_they_translate_to() {
        let policy = AddressPolicy::default();
        // The well-known prefix: the last 32 bits
        let well_known = Embedding::Nat64WellKnown;
        assert_eq!(
            policy.check(ip("64:ff9b::a9fe:a9fe")),
            carried_metadata("64:ff9b::a9fe:a9fe", "169.254.169.254", well_known)
        );
        assert_eq!(
            policy.check(ip("64:ff9b::192.0.0.192")),
            carried_metadata("64:ff9b::192.0.0.192", "192.0.0.192", well_known)
        );
        assert_eq!(policy.check(ip("64:ff9b::5db8:d822")), Ok(()));
        // The local-use prefix, with the last 32 bits (a /96 gateway) ...
        let local = Embedding::Nat64LocalUse;
        assert_eq!(
            policy.check(ip("64:ff9b:1::a9fe:a9fe")),
            carried_metadata("64:ff9b:1::a9fe:a9fe", "169.254.169.254", local)
        );
        assert_eq!(
            policy.check(ip("64:ff9b:1:abcd:1::a9fe:a9fe")),
            carried_metadata("64:ff9b:1:abcd:1::a9fe:a9fe", "169.254.169.254", local)
        );
        // ... or placed for a /48, /56 or /64 gateway, skipping bits 64 to 71
        for (address, prefix) in
            [("64:ff9b:1:a9fe:a9:fe00::", 48), ("64:ff9b:1:1a9:fe:a9fe::", 56), ("64:ff9b:1:1:a9:fea9:fe00:0", 64)]
        {
            assert_eq!(policy.check(ip(address)), carried_metadata(address, "169.254.169.254", local), "/{prefix}");
        }
        assert_eq!(policy.check(ip("64:ff9b:1::5db8:d822")), Ok(()));
        // Just outside both prefixes nothing is carried
        assert_eq!(policy.check(ip("64:ff9b:2::a9fe:a9fe")), Ok(()));
        assert_eq!(policy.check(ip("64:ff9a::a9fe:a9fe")), Ok(()));
    }

    #[test]
    fn teredo_addresses_are_judged_by_the_client_address_in_the_inverted_last_32_bits() {
        let policy = AddressPolicy::default();
        // 169.254.169.254 inverted is 5601:5601; the server address (bits 32 to 64) is not the destination
        let teredo = Embedding::Teredo;
        assert_eq!(
            policy.check(ip("2001:0:4136:e378:8000:63bf:5601:5601")),
            carried_metadata("2001:0:4136:e378:8000:63bf:5601:5601", "169.254.169.254", teredo)
        );
        assert_eq!(policy.check(ip("2001::3fff:ff3f")), carried_metadata("2001::3fff:ff3f", "192.0.0.192", teredo));
        // The client 93.184.216.34 (inverted a247:27dd) is accepted, and so is an address outside 2001:0::/32
        assert_eq!(policy.check(ip("2001:0:4136:e378:8000:63bf:a247:27dd")), Ok(()));
        assert_eq!(policy.check(ip("2001:1::5601:5601")), Ok(()));
    }

    #[test]
    fn the_deny_list_applies_to_the_carried_address_and_the_allow_list_reopens_it() {
        // Given 10.0.0.0/8 denied
        let policy = policy("10.0.0.0/8", "");
        // When 10.1.2.3 is reached through each embedding
        for address in ["2002:a01:203::", "64:ff9b::a01:203", "64:ff9b:1::a01:203", "2001::f5fe:fdfc"] {
            // Then it is refused by the rule, naming the carried address
            let refusal = policy.check(ip(address)).unwrap_err();
            let Refusal::Carried { carried, refusal: inner, .. } = &refusal else { panic!("{address}: {refusal:?}") };
            assert_eq!(carried.to_string(), "10.1.2.3", "{address}");
            assert!(matches!(**inner, Refusal::Denied { .. }), "{address}: {inner:?}");
        }
        assert_eq!(
            policy.check(ip("2002:a01:203::")).unwrap_err().to_string(),
            "2002:a01:203:: carries 10.1.2.3 (6to4, 2002::/16): 10.1.2.3 is in HEALTHMON_TARGET_DENY (10.0.0.0/8)"
        );
        // And an allow rule for the carried address, or for the address as written, reopens it
        assert_eq!(self::policy("10.0.0.0/8", "10.1.0.0/16").check(ip("2002:a01:203::")), Ok(()));
        assert_eq!(self::policy("10.0.0.0/8", "2002::/16").check(ip("2002:a01:203::")), Ok(()));
        // But no allow rule reopens carried metadata
        assert!(self::policy("", "::/0, 0.0.0.0/0").check(ip("2002:a9fe:a9fe::")).is_err());
    }

    #[test]
    fn a_carried_refusal_names_the_address_the_embedding_and_the_reason() {
        let refusal = AddressPolicy::default().check(ip("64:ff9b:1::a9fe:a9fe")).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "64:ff9b:1::a9fe:a9fe carries 169.254.169.254 (local-use NAT64, 64:ff9b:1::/48): \
             169.254.169.254 is a link-local or cloud metadata address and is never probed"
        );
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
