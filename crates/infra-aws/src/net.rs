//! Address arithmetic for validation before any API call.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 CIDR block, e.g. `10.1.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// The first address as an integer.
    pub fn first(&self) -> u32 {
        self.network
    }

    /// The last address as an integer.
    pub fn last(&self) -> u32 {
        self.network | (u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0))
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// True when `other` lies entirely inside `self`.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.first() >= self.first() && other.last() <= self.last()
    }

    /// True when the two blocks share an address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) =
            s.split_once('/').ok_or_else(|| format!("{s:?} is not a CIDR block (expected a.b.c.d/n)"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR block: {addr:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{s:?} is not a CIDR block: prefix must be 0 to 32"))?;
        let ip = u32::from(addr);
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        if ip & !mask != 0 {
            return Err(format!(
                "{s:?} has host bits set; did you mean {}/{prefix}?",
                Ipv4Addr::from(ip & mask)
            ));
        }
        Ok(Ipv4Cidr { network: ip, prefix })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let vpc: Ipv4Cidr = "10.1.0.0/16".parse().unwrap();
        let sub: Ipv4Cidr = "10.1.20.0/24".parse().unwrap();
        let other: Ipv4Cidr = "10.2.0.0/24".parse().unwrap();
        assert!(vpc.contains(&sub));
        assert!(!vpc.contains(&other));
        assert!(vpc.overlaps(&sub));
        assert!(!sub.overlaps(&other));
        assert!("10.1.0.1/16".parse::<Ipv4Cidr>().unwrap_err().contains("host bits"));
        assert!("10.1.0.0/33".parse::<Ipv4Cidr>().is_err());
        assert!("nonsense".parse::<Ipv4Cidr>().is_err());
        assert_eq!("0.0.0.0/0".parse::<Ipv4Cidr>().unwrap().last(), u32::MAX);
    }
}
