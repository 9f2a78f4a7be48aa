//! What every side checks credentials with: the key of an `Authorization` header, and a
//! comparison that takes the same time however early two secrets differ.

/// The credential of `Authorization: Bearer KEY` (the scheme's case does not matter, RFC 9110);
/// empty when the header says something else.
pub fn bearer_token(header: &str) -> &str {
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, key)| key.trim())
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_header_gives_its_key_and_anything_else_nothing() {
        assert_eq!(bearer_token("Bearer abc "), "abc");
        assert_eq!(bearer_token("bearer abc"), "abc");
        assert_eq!(bearer_token("Basic abc"), "");
        assert_eq!(bearer_token("abc"), "");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
