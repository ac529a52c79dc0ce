//! Names as DNS writes them (no SDK needed: the declarations use them).

/// A DNS name as compared and recorded: lower case, without the final dot,
/// with Route 53's octal escapes (`\052` for `*`) decoded.
pub(crate) fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let digits = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
        if bytes[i] == b'\\'
            && let Some(d) = digits
            && let Ok(code) = u8::from_str_radix(std::str::from_utf8(d).unwrap_or("x"), 8)
        {
            out.push(char::from(code));
            i += 4;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out.trim_end_matches('.').to_ascii_lowercase()
}

/// True when `name` is a domain name (labels of 1 to 63 characters, 255 in
/// all; `*` allowed as the first label).
pub(crate) fn is_domain(name: &str) -> bool {
    let n = name.trim_end_matches('.');
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').enumerate().all(|(i, l)| {
            !l.is_empty()
                && l.len() <= 63
                && ((l == "*" && i == 0)
                    || l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_as_dns_writes_them() {
        assert_eq!(canonical_name("App.Example.com."), "app.example.com");
        assert_eq!(canonical_name("\\052.example.com."), "*.example.com");
        assert_eq!(canonical_name("_x1.example.com"), "_x1.example.com");
        assert!(is_domain("*.example.com"));
        assert!(is_domain("_abc.app.example.com."));
        assert!(!is_domain("a..example.com"));
        assert!(!is_domain("app.*.example.com"));
    }
}
