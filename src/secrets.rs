//! Session ids and API tokens: random, shown once, stored only as a hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new `ssid`: 256 random bits.
pub fn new_ssid() -> String {
    random_hex(32)
}

/// A new account API token: 256 random bits, with a prefix that secret scanners can spot.
pub fn new_token() -> String {
    format!("apt_{}", random_hex(32))
}

/// A new stream ticket: 256 random bits, single use.
pub fn new_ticket() -> String {
    format!("tkt_{}", random_hex(32))
}

/// What the database keeps of a secret. These secrets carry 256 random bits, so a plain
/// SHA-256 (no salt, no stretching) cannot be reversed and lets us look them up by value.
pub fn hash(secret: &str) -> String {
    hex::encode(digest(secret))
}

/// The SHA-256 of a secret, as bytes: what the live view keys sessions by.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_fresh_and_hashes_stable() {
        let (a, b) = (super::new_ssid(), super::new_ssid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(super::new_token().starts_with("apt_"));
        assert_eq!(super::hash("x"), super::hash("x"));
        assert_ne!(super::hash(&a), a);
    }
}
