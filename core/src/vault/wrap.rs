//! Wrapping: sealing a small secret (a key, an address) under a 32-byte key with
//! XChaCha20-Poly1305 and a fresh random 24-byte nonce. Opening is one symmetric
//! AEAD operation (about a microsecond), never an X25519 one.
//!
//! The associated data ([`Binding`]) names what the secret belongs to: the row it
//! was written for and, for secrets under the root key, the root key version. A
//! wrapped secret copied onto another row, or relabelled with another version,
//! fails to open instead of handing one owner's key to another.
//!
//! Layout: one format byte (1), the 24-byte nonce, then ciphertext and 16-byte tag.

use chacha20poly1305::{
    aead::{AeadCore, AeadInPlace, KeyInit, OsRng},
    Key, XChaCha20Poly1305, XNonce,
};
use zeroize::Zeroizing;

use crate::{Error, Result};

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The associated data of one wrapped secret: a purpose label, then each part
/// length-prefixed so that no two different lists of parts encode alike.
pub(crate) struct Binding(Vec<u8>);

impl Binding {
    fn new(purpose: &str, parts: &[&[u8]]) -> Self {
        let mut aad = Vec::with_capacity(64);
        for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part);
        }
        Self(aad)
    }

    /// An owner's identity secret key, under root key `version`.
    pub(crate) fn identity_key(owner_kind: &str, owner_id: &str, version: u32) -> Self {
        Self::new(
            "portico vault: identity key",
            &[
                owner_kind.as_bytes(),
                owner_id.as_bytes(),
                &version.to_be_bytes(),
            ],
        )
    }

    /// One of the vault's own keys (`lookup`, `directory`), under root key `version`.
    pub(crate) fn vault_key(name: &str, version: u32) -> Self {
        Self::new(
            "portico vault: vault key",
            &[name.as_bytes(), &version.to_be_bytes()],
        )
    }

    /// An identity's email address, under the directory key.
    pub(crate) fn identity_email(identity_id: &str) -> Self {
        Self::new("portico vault: identity email", &[identity_id.as_bytes()])
    }
}

/// Seals `secret` under `key`, bound to `binding`.
pub(crate) fn wrap(key: &[u8; 32], binding: &Binding, secret: &[u8]) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut out = Vec::with_capacity(1 + NONCE_LEN + secret.len() + TAG_LEN);
    out.push(FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(secret);
    let tag = cipher
        .encrypt_in_place_detached(&nonce, &binding.0, &mut out[1 + NONCE_LEN..])
        .map_err(|_| Error::Crypto("a secret could not be wrapped"))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens what [`wrap`] sealed, into memory that is zeroed when dropped.
pub(crate) fn unwrap(
    key: &[u8; 32],
    binding: &Binding,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    const REFUSED: Error = Error::Crypto(
        "a wrapped secret does not open: it is damaged, was moved from another row, \
         or the root key file is not the one it was made with",
    );
    if wrapped.len() < 1 + NONCE_LEN + TAG_LEN || wrapped[0] != FORMAT {
        return Err(REFUSED);
    }
    let (nonce, rest) = wrapped[1..].split_at(NONCE_LEN);
    let (sealed, tag) = rest.split_at(rest.len() - TAG_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut plain = Zeroizing::new(sealed.to_vec());
    cipher
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            &binding.0,
            &mut plain[..],
            tag.into(),
        )
        .map_err(|_| REFUSED)?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_secret_opens_only_with_its_key_and_its_binding() {
        let key = [7u8; 32];
        let binding = Binding::identity_key("identity", "a", 1);
        let wrapped = wrap(&key, &binding, b"secret").unwrap();
        assert_eq!(wrapped.len(), 1 + 24 + 6 + 16);
        assert_eq!(&unwrap(&key, &binding, &wrapped).unwrap()[..], b"secret");

        assert!(unwrap(&[8u8; 32], &binding, &wrapped).is_err());
        for other in [
            Binding::identity_key("identity", "b", 1),
            Binding::identity_key("mailbox", "a", 1),
            Binding::identity_key("identity", "a", 2),
            Binding::vault_key("a", 1),
        ] {
            assert!(matches!(
                unwrap(&key, &other, &wrapped),
                Err(Error::Crypto(_))
            ));
        }
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 1;
            assert!(unwrap(&key, &binding, &bad).is_err(), "byte {i}");
        }
        assert!(unwrap(&key, &binding, &wrapped[..20]).is_err());
    }

    #[test]
    fn length_prefixes_keep_different_parts_apart() {
        assert_ne!(
            Binding::identity_key("identity", "ab", 1).0,
            Binding::identity_key("identit", "yab", 1).0
        );
    }

    #[test]
    fn every_wrap_uses_a_fresh_nonce() {
        let b = Binding::vault_key("lookup", 1);
        assert_ne!(
            wrap(&[1; 32], &b, b"x").unwrap(),
            wrap(&[1; 32], &b, b"x").unwrap()
        );
    }
}
