//! Staff passwords: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1),
//! stored as PHC strings (the parameters travel with the hash). A hash made with
//! other parameters still verifies, and the check hands back a new hash to store:
//! parameters are upgraded at sign-in.
//!
//! Each check costs about 24 ms of CPU and 19 MiB, so checks run on the blocking
//! pool behind a gate: a few at once, a bounded number waiting, and the rest
//! refused at once with [`Error::Busy`]. A flood of sign-in attempts then costs
//! bounded memory and never occupies the threads that serve pages.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
pub fn owasp_params() -> Params {
    match Params::new(19 * 1024, 2, 1, None) {
        Ok(params) => params,
        Err(_) => unreachable!("fixed parameters are valid"),
    }
}

/// What a password check found.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// Right. `rehashed` is a new hash to store when the stored one used other
    /// parameters than today's.
    Right {
        rehashed: Option<String>,
    },
    Wrong,
}

/// Admits `running` checks at once and `waiting` more in line.
#[derive(Debug)]
struct Gate {
    running: Semaphore,
    admitted: AtomicUsize,
    capacity: usize,
}

struct Admitted<'a>(&'a Gate);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    fn new(running: usize, waiting: usize) -> Self {
        Self {
            running: Semaphore::new(running),
            admitted: AtomicUsize::new(0),
            capacity: running + waiting,
        }
    }

    /// A place in line, or `Busy` when the line is full.
    fn admit(&self) -> Result<Admitted<'_>> {
        let before = self.admitted.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self);
        if before >= self.capacity {
            return Err(Error::Busy("too many password checks under way"));
        }
        Ok(admitted)
    }
}

/// Hashes and checks passwords. Share one per process.
#[derive(Clone, Debug)]
pub struct Passwords {
    params: Params,
    gate: Arc<Gate>,
}

impl Passwords {
    /// OWASP parameters; as many checks at once as the machine has cores, and
    /// 32 waiting.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with(owasp_params(), cores, 32)
    }

    /// Chosen parameters and limits (tests, and a deployment that wants others).
    pub fn with(params: Params, running: usize, waiting: usize) -> Self {
        Self {
            params,
            gate: Arc::new(Gate::new(running.max(1), waiting)),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Runs `work` on the blocking pool once admitted through the gate.
    async fn gated<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _place = self.gate.admit()?;
        let _running = self
            .gate
            .running
            .acquire()
            .await
            .map_err(|_| Error::Busy("password checks are shut down"))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| Error::Crypto("a password check stopped unexpectedly"))
    }

    /// A PHC string for `password` under the current parameters.
    pub async fn hash(&self, password: SecretString) -> Result<String> {
        let params = self.params.clone();
        self.gated(move || hash_now(params, &password)).await?
    }

    /// Checks `password` against a stored PHC string, in constant time. A stored
    /// string that is not a valid argon2 hash is an error, not a wrong password.
    pub async fn verify(&self, password: SecretString, stored: &str) -> Result<PasswordCheck> {
        let params = self.params.clone();
        let stored = stored.to_owned();
        self.gated(move || {
            let parsed = PasswordHash::new(&stored)
                .map_err(|_| Error::Crypto("a stored password hash is malformed"))?;
            let stored_params = Params::try_from(&parsed)
                .map_err(|_| Error::Crypto("a stored password hash has bad parameters"))?;
            let right = Self::argon2(stored_params.clone())
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            if !right {
                return Ok(PasswordCheck::Wrong);
            }
            let current = parsed.algorithm.as_str() == "argon2id"
                && stored_params.m_cost() == params.m_cost()
                && stored_params.t_cost() == params.t_cost()
                && stored_params.p_cost() == params.p_cost();
            let rehashed = if current {
                None
            } else {
                Some(hash_now(params, &password)?)
            };
            Ok(PasswordCheck::Right { rehashed })
        })
        .await?
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

fn hash_now(params: Params, password: &SecretString) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Passwords::argon2(params)
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Crypto("a password could not be hashed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_right_password_passes_and_a_wrong_one_does_not() {
        let passwords = Passwords::new();
        let stored = passwords
            .hash(secret("correct horse battery"))
            .await
            .unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("correct horse"));
        assert_eq!(
            passwords
                .verify(secret("correct horse battery"), &stored)
                .await
                .unwrap(),
            PasswordCheck::Right { rehashed: None }
        );
        assert_eq!(
            passwords
                .verify(secret("correct horse batterz"), &stored)
                .await
                .unwrap(),
            PasswordCheck::Wrong
        );
        assert!(matches!(
            passwords.verify(secret("x"), "not a hash").await,
            Err(Error::Crypto(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hash_with_old_parameters_is_upgraded_at_sign_in() {
        let old = Passwords::with(Params::new(4096, 1, 1, None).unwrap(), 1, 1);
        let stored = old.hash(secret("hunter22 but longer")).await.unwrap();
        assert!(stored.contains("m=4096,t=1,p=1"), "{stored}");
        let today = Passwords::new();
        let PasswordCheck::Right {
            rehashed: Some(upgraded),
        } = today
            .verify(secret("hunter22 but longer"), &stored)
            .await
            .unwrap()
        else {
            panic!("the old hash verifies and is upgraded")
        };
        assert!(upgraded.contains("m=19456,t=2,p=1"), "{upgraded}");
        assert_eq!(
            today
                .verify(secret("hunter22 but longer"), &upgraded)
                .await
                .unwrap(),
            PasswordCheck::Right { rehashed: None }
        );
        // A wrong password against an old hash is not upgraded, just wrong.
        assert_eq!(
            today.verify(secret("wrong"), &stored).await.unwrap(),
            PasswordCheck::Wrong
        );
    }

    #[test]
    fn the_gate_admits_running_plus_waiting_and_refuses_the_rest() {
        let gate = Gate::new(2, 3);
        let mut held: Vec<_> = (0..5).map(|_| gate.admit().unwrap()).collect();
        assert!(matches!(gate.admit(), Err(Error::Busy(_))));
        assert!(matches!(gate.admit(), Err(Error::Busy(_))));
        held.pop();
        let again = gate.admit();
        assert!(again.is_ok(), "a place freed is a place again");
        assert!(matches!(gate.admit(), Err(Error::Busy(_))));
    }
}
