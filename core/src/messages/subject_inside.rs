//! A thread's first message sealed together with the thread's subject.
//!
//! Opening a sealed item costs an X25519 operation, the largest part of a
//! message view; a thread whose subject and first body were sealed apart cost
//! two. So a new thread's first message seals both: the subject's length in
//! bytes (4 bytes, little-endian), the subject, then the body. The thread keeps
//! its own sealed subject too, which the inbox list opens.

use zeroize::Zeroizing;

use crate::{Error, Result};

/// The plaintext of a first message: subject and body, framed.
pub(super) fn pack(subject: &str, body: &str) -> Zeroizing<Vec<u8>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(4 + subject.len() + body.len()));
    // Subjects are checked to a few hundred characters long before they get here.
    let len = u32::try_from(subject.len()).unwrap_or(u32::MAX);
    plain.extend_from_slice(&len.to_le_bytes());
    plain.extend_from_slice(&subject.as_bytes()[..len as usize]);
    plain.extend_from_slice(body.as_bytes());
    plain
}

/// The subject and body [`pack`] framed. A frame that does not add up (its
/// length past the end) is damage, reported as such rather than shown.
pub(super) fn unpack(plain: &[u8]) -> Result<(String, String)> {
    let damaged = || Error::Crypto("the message is damaged");
    let (len, rest) = plain.split_first_chunk::<4>().ok_or_else(damaged)?;
    let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| damaged())?;
    if len > rest.len() {
        return Err(damaged());
    }
    let (subject, body) = rest.split_at(len);
    Ok((
        String::from_utf8_lossy(subject).into_owned(),
        String::from_utf8_lossy(body).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_and_body_come_back_apart() {
        let plain = pack("Lab results ✓", "Your A1c is 5.4.\nSee you soon.");
        assert_eq!(
            unpack(&plain).unwrap(),
            (
                "Lab results ✓".to_owned(),
                "Your A1c is 5.4.\nSee you soon.".to_owned()
            )
        );
        assert_eq!(
            unpack(&pack("", "")).unwrap(),
            (String::new(), String::new())
        );
    }

    #[test]
    fn a_frame_that_does_not_add_up_is_damage() {
        let mut plain = pack("Subject", "Body").to_vec();
        plain[0] = 200;
        assert!(matches!(unpack(&plain), Err(Error::Crypto(_))));
        assert!(matches!(unpack(&[1, 0]), Err(Error::Crypto(_))));
    }
}
