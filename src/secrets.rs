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

/// A new webhook signing secret, as the Standard Webhooks spec writes it: `whsec_` and the
/// base64 of 32 random bytes (the HMAC key).
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The Standard Webhooks signature of a message: `v1,` and the base64 HMAC-SHA256, keyed
/// with the secret's base64 part decoded, of `{id}.{timestamp}.{body}`. None for a secret
/// that is not `whsec_` and base64 (never one this server made).
pub fn sign_webhook(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", engine.encode(mac.finalize().into_bytes())))
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

    /// The Standard Webhooks spec's own example (its test vectors).
    #[test]
    fn webhook_signatures_match_the_spec() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let signed = super::sign_webhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(
            signed.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert!(super::new_webhook_secret().starts_with("whsec_"));
        assert_eq!(super::sign_webhook("nope", "1", 1, b""), None);
    }
}
