//! Signed session cookies, byte-compatible with itsdangerous' `TimestampSigner` as Starlette's
//! `SessionMiddleware` uses it (HMAC-SHA1, django-concat key derivation, URL-safe base64), so
//! sessions created by a FastAPI deployment stay valid after migrating, and the other way round.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sha1::{Digest, Sha1};

type HmacSha1 = Hmac<Sha1>;

const SALT: &[u8] = b"itsdangerous.Signer";

/// itsdangerous' `django-concat` derivation: `sha1(salt + b"signer" + secret)`.
fn derive_key(secret: &[u8]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    hasher.update(SALT);
    hasher.update(b"signer");
    hasher.update(secret);
    hasher.finalize().into()
}

fn signature(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha1::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(value);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()).into_bytes()
}

/// `int_to_bytes`: big-endian, no leading zero bytes.
fn int_to_bytes(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 0 {
        out.push((n & 0xff) as u8);
        n >>= 8;
    }
    out.reverse();
    out
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn sign(secret: &[u8], value: &[u8], timestamp: u64) -> Vec<u8> {
    let key = derive_key(secret);
    let mut signed = value.to_vec();
    signed.push(b'.');
    signed.extend_from_slice(URL_SAFE_NO_PAD.encode(int_to_bytes(timestamp)).as_bytes());
    let sig = signature(&key, &signed);
    signed.push(b'.');
    signed.extend_from_slice(&sig);
    signed
}

/// The signed value, if the signature is valid and not older than `max_age` seconds.
pub fn unsign(secret: &[u8], signed: &[u8], max_age: Option<u64>, now: u64) -> Option<Vec<u8>> {
    let key = derive_key(secret);
    let dot = signed.iter().rposition(|b| *b == b'.')?;
    let (value, sig) = (&signed[..dot], &signed[dot + 1..]);
    let expected = signature(&key, value);
    // Compare in constant time, as itsdangerous does.
    if expected.len() != sig.len() || expected.iter().zip(sig).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
        return None;
    }
    let dot = value.iter().rposition(|b| *b == b'.')?;
    let (payload, stamp) = (&value[..dot], &value[dot + 1..]);
    let stamp = URL_SAFE_NO_PAD.decode(stamp.strip_suffix(b"=").unwrap_or(stamp)).ok()?;
    if stamp.len() > 8 {
        return None;
    }
    let timestamp = stamp.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    if let Some(max_age) = max_age {
        let age = now as i128 - timestamp as i128;
        if age > max_age as i128 || age < 0 {
            return None;
        }
    }
    Some(payload.to_vec())
}

/// `timestamp_sign(secret, value) -> bytes`: `TimestampSigner(secret).sign(value)`.
#[pyfunction]
pub fn timestamp_sign<'py>(py: Python<'py>, secret: &str, value: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &sign(secret.as_bytes(), value, now()))
}

/// `timestamp_unsign(secret, signed, max_age) -> bytes | None`: `None` for a bad or expired signature.
#[pyfunction]
#[pyo3(signature = (secret, signed, max_age = None))]
pub fn timestamp_unsign<'py>(
    py: Python<'py>,
    secret: &str,
    signed: &[u8],
    max_age: Option<u64>,
) -> Option<Bound<'py, PyBytes>> {
    unsign(secret.as_bytes(), signed, max_age, now()).map(|v| PyBytes::new(py, &v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let signed = sign(b"secret", b"eyJhIjogMX0=", 1_700_000_000);
        assert_eq!(unsign(b"secret", &signed, Some(60), 1_700_000_010), Some(b"eyJhIjogMX0=".to_vec()));
        assert_eq!(unsign(b"secret", &signed, Some(5), 1_700_000_010), None, "expired");
        assert_eq!(unsign(b"other", &signed, None, 0), None, "wrong key");
        let mut tampered = signed.clone();
        tampered[0] ^= 1;
        assert_eq!(unsign(b"secret", &tampered, None, 0), None);
        assert_eq!(unsign(b"secret", b"garbage", None, 0), None);
    }
}
