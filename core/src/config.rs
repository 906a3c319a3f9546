//! Settings: built-in defaults, then an optional TOML file, then `PORTICO_*`
//! environment variables, each layer overriding the one before.
//!
//! Every value is checked here, once, at start-up. A bad value is refused with a
//! [`ConfigError`] that names the setting, where the value came from, and what is
//! wrong, so that an operator can fix it from one line.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use lettre::message::Mailbox;
use url::Url;

/// The environment variable that names the configuration file, as `--config` does.
pub const CONFIG_FILE_VAR: &str = "PORTICO_CONFIG";
/// The environment variable read by the log filter, not a setting of its own.
pub const LOG_VAR: &str = "PORTICO_LOG";
/// The SMTP password, as an alternative to `smtp_password_file`. Only the
/// environment can hold it: a password never sits in the settings file.
pub const SMTP_PASSWORD_VAR: &str = "PORTICO_SMTP_PASSWORD";

/// Every setting, by the name it has in the configuration file. Its environment
/// variable is `PORTICO_` and the name in capitals.
pub const SETTING_NAMES: [&str; 23] = [
    "listen",
    "metrics_listen",
    "tls_cert_file",
    "tls_key_file",
    "public_url",
    "data_dir",
    "database_url",
    "root_key_file",
    "idle_timeout",
    "absolute_timeout",
    "mail_transport",
    "sign_in_code_digits",
    "link_lifetime",
    "attachment_max_size",
    "attachments_per_message",
    "eob_max_size",
    "max_requests_in_flight",
    "max_bulk_uploads",
    "mail_from",
    "smtp_username",
    "smtp_password_file",
    "smtp_ca_file",
    "smtp_timeout",
];

/// The checked settings the portal runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The address the HTTP listener binds.
    pub listen: SocketAddr,
    /// Where `/metrics` (Prometheus text) is served, apart from the public
    /// listener; none when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// The certificate chain and private key (PEM) to serve https with,
    /// directly, without a proxy; plain http when unset.
    pub tls: Option<TlsFiles>,
    /// The address people reach the portal at; links in emails are made from it.
    pub public_url: Url,
    /// Where the SQLite database, keys and file mail live.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`. Kept out of `Debug` output: it may hold a password.
    pub database_url: DatabaseUrl,
    /// The root key file, when it is kept outside the data directory (say, on a
    /// mounted secret); by default `<data_dir>/master.key`, made on first start.
    /// Rotated versions sit beside it as `<file>.v2`, `<file>.v3`, ….
    pub root_key_file: Option<PathBuf>,
    /// A session with no activity for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, active or not.
    pub absolute_timeout: Duration,
    /// How notification email leaves the portal.
    pub mail_transport: MailTransport,
    /// Digits in an emailed sign-in code, 6 to 8.
    pub sign_in_code_digits: u8,
    /// How long a notification link works.
    pub link_lifetime: Duration,
    /// The largest file that can be attached to a message, in bytes.
    pub attachment_max_size: u64,
    /// How many files one message can carry.
    pub attachments_per_message: usize,
    /// The largest EOB upload (`POST /api/v1/eob`), and the longest line of a
    /// bulk upload, in bytes.
    pub eob_max_size: u64,
    /// Requests handled at once; past this the portal answers 503 with
    /// Retry-After at once rather than queueing them (and their memory).
    pub max_requests_in_flight: usize,
    /// Bulk EOB uploads received at once (each holds a request open for as
    /// long as its body streams); past this, 503 with Retry-After.
    pub max_bulk_uploads: usize,
    /// The sender of every email, and the domain of its `Message-ID`.
    pub mail_from: Mailbox,
    /// How long one step of talking to the mail server may take (connecting, each
    /// command); one email may take at most this long in all, and its lease
    /// lasts a little over twice that.
    pub smtp_timeout: Duration,
}

impl Settings {
    /// The attachment limits these settings give.
    pub fn attachment_limits(&self) -> crate::messages::AttachmentLimits {
        crate::messages::AttachmentLimits {
            max_bytes: self.attachment_max_size,
            max_per_message: self.attachments_per_message,
        }
    }

    /// True when the portal is reached over https, which turns on HSTS and
    /// `__Host-` cookies.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// A certificate chain and its private key, both PEM files. Reread on SIGHUP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// `tls_cert_file` with `tls_key_file`: both or neither, and then an https
/// `public_url` (its links and HSTS must say https).
fn tls_files(layers: &Layers, public_url: &Url) -> Result<Option<TlsFiles>, ConfigError> {
    let cert = optional_path(layers, "tls_cert_file")?;
    let key = optional_path(layers, "tls_key_file")?;
    let source = |key: &str| layers.get(key).map(|(_, s)| s.clone());
    let invalid = |key: &str, problem: &str| ConfigError::Invalid {
        key: key.into(),
        from: source(key).unwrap_or(Source::Default),
        problem: problem.into(),
    };
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid("tls_key_file", "is needed with tls_cert_file")),
        (None, Some(_)) => Err(invalid("tls_cert_file", "is needed with tls_key_file")),
        (Some(_), Some(_)) if public_url.scheme() != "https" => Err(invalid(
            "public_url",
            "must be an https:// address when the portal serves TLS itself (tls_cert_file)",
        )),
        (Some(cert_file), Some(key_file)) => Ok(Some(TlsFiles {
            cert_file,
            key_file,
        })),
    }
}

/// A database address. Its `Debug` and `Display` hide any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The address as given, password included: pass it to the driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is a PostgreSQL address (otherwise SQLite).
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }

    fn parse(value: &str) -> Result<Self, String> {
        let is_sqlite = value.starts_with("sqlite:");
        let is_postgres = value.starts_with("postgres://") || value.starts_with("postgresql://");
        if !is_sqlite && !is_postgres {
            return Err("expected an address starting with sqlite: or postgres://".into());
        }
        if is_postgres && Url::parse(value).is_err() {
            return Err("is not a valid postgres:// address".into());
        }
        Ok(Self(value.to_owned()))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("********"));
                f.write_str(url.as_str())
            }
            _ => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// How notification email is delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailTransport {
    /// Write `.eml` files under `<data_dir>/outbox/`: no mail server needed.
    File,
    /// Send over SMTP.
    Smtp(SmtpSettings),
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: STARTTLS, required; no mail or password goes out without it.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp+insecure://`: no encryption, for a test server on this machine only.
    InsecureLoopback,
}

/// Where and how to send mail, from `mail_transport` and the `smtp_*` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, SmtpPassword)>,
    /// A PEM file of extra root certificates to trust beside the system's.
    pub ca_file: Option<PathBuf>,
}

/// The SMTP password, or where to read it. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum SmtpPassword {
    /// Read from this file (its first line) when the sender starts.
    File(PathBuf),
    /// Given in `PORTICO_SMTP_PASSWORD`.
    Value(zeroize::Zeroizing<String>),
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpPassword::File(path) => f.debug_tuple("File").field(path).finish(),
            SmtpPassword::Value(_) => f.write_str("Value(********)"),
        }
    }
}

impl MailTransport {
    fn parse(value: &str) -> Result<Self, String> {
        const EXPECTED: &str =
            "expected `file`, or an smtp://, smtps:// or smtp+insecure:// address";
        if value == "file" {
            return Ok(Self::File);
        }
        let url = Url::parse(value).map_err(|_| EXPECTED.to_owned())?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            "smtp+insecure" => (SmtpSecurity::InsecureLoopback, 25),
            _ => return Err(EXPECTED.into()),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "put no user name or password in the address: use smtp_username, \
                 and smtp_password_file or PORTICO_SMTP_PASSWORD"
                    .into(),
            );
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "expected a scheme, a host and a port only, such as smtp://mail.example.org:587"
                    .into(),
            );
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err("the smtp address has no host".into()),
        };
        if security == SmtpSecurity::InsecureLoopback && !is_loopback(&host) {
            return Err(format!(
                "smtp+insecure:// sends mail unencrypted and is allowed only to this machine \
                 (localhost, 127.0.0.1 or ::1), not to {host:?}; use smtp:// or smtps://"
            ));
        }
        Ok(Self::Smtp(SmtpSettings {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            credentials: None,
            ca_file: None,
        }))
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where a value came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the built-in default"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(var) => f.write_str(var),
        }
    }
}

/// A setting that could not be used. `Display` is one line for the operator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("setting `{key}` (from {from}): {problem}")]
    Invalid {
        key: String,
        from: Source,
        problem: String,
    },
    #[error("configuration file {}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
}

impl ConfigError {
    /// The setting at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::File { .. } => None,
        }
    }
}

/// The raw values, by setting name, with where each came from.
struct Layers {
    values: Vec<(&'static str, String, Source)>,
    /// `PORTICO_SMTP_PASSWORD`, kept apart: never echoed, never in the file.
    smtp_password: Option<zeroize::Zeroizing<String>>,
}

impl Layers {
    fn defaults() -> Self {
        let values = [
            ("listen", "127.0.0.1:3000"),
            ("public_url", "http://localhost:3000"),
            ("data_dir", "./data"),
            ("idle_timeout", "15m"),
            ("absolute_timeout", "12h"),
            ("mail_transport", "file"),
            ("sign_in_code_digits", "6"),
            ("link_lifetime", "30days"),
            ("attachment_max_size", "25MB"),
            ("attachments_per_message", "10"),
            ("eob_max_size", "10MB"),
            ("max_requests_in_flight", "512"),
            ("max_bulk_uploads", "2"),
            ("mail_from", "Portico <no-reply@localhost>"),
            ("smtp_timeout", "30s"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned(), Source::Default))
        .collect();
        Self {
            values,
            smtp_password: None,
        }
    }

    fn set(&mut self, key: &'static str, value: String, source: Source) {
        self.values.retain(|(k, _, _)| *k != key);
        self.values.push((key, value, source));
    }

    fn get(&self, key: &str) -> Option<(&str, &Source)> {
        self.values
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, v, s)| (v.as_str(), s))
    }

    fn apply_file(&mut self, path: &std::path::Path, text: &str) -> Result<(), ConfigError> {
        let file_error = |problem: String| ConfigError::File {
            path: path.to_owned(),
            problem,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.message().to_owned()))?;
        for (key, value) in table {
            if key == "smtp_password" {
                return Err(file_error(
                    "a password does not belong in the settings file: use smtp_password_file \
                     or the environment variable PORTICO_SMTP_PASSWORD"
                        .into(),
                ));
            }
            let Some(name) = SETTING_NAMES.iter().find(|n| **n == key) else {
                return Err(file_error(format!(
                    "unknown setting `{key}`; the settings are {}",
                    SETTING_NAMES.join(", ")
                )));
            };
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                other => {
                    return Err(ConfigError::Invalid {
                        key: key.clone(),
                        from: Source::File(path.to_owned()),
                        problem: format!("expected a string, found a {}", other.type_str()),
                    })
                }
            };
            self.set(name, value, Source::File(path.to_owned()));
        }
        Ok(())
    }

    fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        for (var, value) in env {
            let Some(suffix) = var.strip_prefix("PORTICO_") else {
                continue;
            };
            if var == CONFIG_FILE_VAR || var == LOG_VAR {
                continue;
            }
            if var == SMTP_PASSWORD_VAR {
                self.smtp_password = Some(zeroize::Zeroizing::new(value));
                continue;
            }
            let key = suffix.to_ascii_lowercase();
            let Some(name) = SETTING_NAMES.iter().find(|n| **n == key) else {
                return Err(ConfigError::Invalid {
                    key,
                    from: Source::Env(var),
                    problem: format!(
                        "unknown setting; the variables are {}",
                        SETTING_NAMES
                            .iter()
                            .map(|n| format!("PORTICO_{}", n.to_ascii_uppercase()))
                            .chain([SMTP_PASSWORD_VAR.to_owned()])
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            };
            self.set(name, value, Source::Env(var));
        }
        Ok(())
    }

    /// Parses one setting with `parse`, naming it on failure. `echo` says whether
    /// the offending value may be repeated in the message.
    fn parse<T>(
        &self,
        key: &'static str,
        echo: bool,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (value, source) = self.get(key).ok_or_else(|| ConfigError::Invalid {
            key: key.into(),
            from: Source::Default,
            problem: "has no value".into(),
        })?;
        parse(value.trim()).map_err(|problem| ConfigError::Invalid {
            key: key.into(),
            from: source.clone(),
            problem: if echo {
                format!("{problem}, got {value:?}")
            } else {
                problem
            },
        })
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|_| "expected a duration such as \"15m\", \"900s\" or \"12h\"".to_owned())
}

/// A size in bytes: `25MB`, `500KB`, `1GB` (powers of 1000) or a plain number.
fn parse_size(value: &str) -> Result<u64, String> {
    let problem = || "expected a size such as \"25MB\", \"500KB\" or a number of bytes".to_owned();
    let upper = value.to_ascii_uppercase();
    let (digits, unit) = upper
        .find(|c: char| !c.is_ascii_digit())
        .map_or((upper.as_str(), ""), |at| upper.split_at(at));
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(problem()),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(problem)
}

fn parse_public_url(value: &str) -> Result<Url, String> {
    let url =
        Url::parse(value).map_err(|_| "expected an http:// or https:// address".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// address".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("expected an origin only, with no path, query or fragment".into());
    }
    Ok(url)
}

impl Settings {
    /// Loads the settings from the defaults, the file (if any) and the
    /// environment variables given, in that order.
    pub fn load(
        file: Option<(&std::path::Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Layers::defaults();
        if let Some((path, text)) = file {
            layers.apply_file(path, text)?;
        }
        layers.apply_env(env)?;

        let listen = layers.parse("listen", true, |v| {
            SocketAddr::from_str(v)
                .map_err(|_| "expected an address and port such as 127.0.0.1:3000".into())
        })?;
        let metrics_listen = match layers.get("metrics_listen") {
            Some(_) => Some(layers.parse("metrics_listen", true, |v| {
                SocketAddr::from_str(v)
                    .map_err(|_| "expected an address and port such as 127.0.0.1:9464".into())
            })?),
            None => None,
        };
        let public_url = layers.parse("public_url", true, parse_public_url)?;
        let data_dir = layers.parse("data_dir", true, |v| {
            if v.is_empty() {
                Err("must not be empty".into())
            } else {
                Ok(PathBuf::from(v))
            }
        })?;
        let database_url = match layers.get("database_url") {
            Some(_) => layers.parse("database_url", false, DatabaseUrl::parse)?,
            None => DatabaseUrl(format!(
                "sqlite://{}",
                data_dir.join("portico.db").display()
            )),
        };
        let root_key_file = match layers.get("root_key_file") {
            Some(_) => Some(layers.parse("root_key_file", true, |v| {
                if v.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(PathBuf::from(v))
                }
            })?),
            None => None,
        };
        let idle_timeout = layers.parse("idle_timeout", true, |v| {
            let d = parse_duration(v)?;
            // Short timeouts are for tests of the timeout itself.
            if d < Duration::from_secs(20) {
                return Err("must be at least 20 seconds".into());
            }
            Ok(d)
        })?;
        let absolute_timeout = layers.parse("absolute_timeout", true, |v| {
            let d = parse_duration(v)?;
            if d < idle_timeout {
                return Err(format!(
                    "must not be shorter than idle_timeout ({})",
                    humantime::format_duration(idle_timeout)
                ));
            }
            if d > Duration::from_secs(7 * 24 * 3600) {
                return Err("must be at most 7 days".into());
            }
            Ok(d)
        })?;
        let mut mail_transport = layers.parse("mail_transport", false, MailTransport::parse)?;
        if let MailTransport::Smtp(smtp) = &mut mail_transport {
            smtp.credentials = smtp_credentials(&layers)?;
            smtp.ca_file = optional_path(&layers, "smtp_ca_file")?;
        }
        let mail_from = layers.parse("mail_from", true, |v| {
            v.parse::<Mailbox>().map_err(|_| {
                "expected an address such as \"Portico <no-reply@portal.example.org>\"".into()
            })
        })?;
        let smtp_timeout = layers.parse("smtp_timeout", true, |v| {
            let d = parse_duration(v)?;
            if d < Duration::from_secs(1) || d > Duration::from_secs(600) {
                return Err("must be between 1 second and 10 minutes".into());
            }
            Ok(d)
        })?;
        let sign_in_code_digits =
            layers.parse("sign_in_code_digits", true, |v| match v.parse::<u8>() {
                Ok(n @ 6..=8) => Ok(n),
                _ => Err("must be 6, 7 or 8".into()),
            })?;
        let link_lifetime = layers.parse("link_lifetime", true, |v| {
            let d = parse_duration(v)?;
            if d < Duration::from_secs(3600) || d > Duration::from_secs(90 * 24 * 3600) {
                return Err("must be between 1 hour and 90 days".into());
            }
            Ok(d)
        })?;

        let attachment_max_size = layers.parse("attachment_max_size", true, |v| {
            let n = parse_size(v)?;
            if !(1_000..=1_000_000_000).contains(&n) {
                return Err("must be between 1KB and 1GB".into());
            }
            Ok(n)
        })?;
        let attachments_per_message = layers.parse("attachments_per_message", true, |v| match v
            .parse::<usize>(
        ) {
            Ok(n @ 1..=50) => Ok(n),
            _ => Err("must be a whole number from 1 to 50".into()),
        })?;

        let eob_max_size = layers.parse("eob_max_size", true, |v| {
            let n = parse_size(v)?;
            if !(1_000..=1_000_000_000).contains(&n) {
                return Err("must be between 1KB and 1GB".into());
            }
            Ok(n)
        })?;

        let max_requests_in_flight = layers.parse("max_requests_in_flight", true, |v| {
            match v.parse::<usize>() {
                Ok(n @ 1..=100_000) => Ok(n),
                _ => Err("must be a whole number from 1 to 100000".into()),
            }
        })?;
        let max_bulk_uploads =
            layers.parse("max_bulk_uploads", true, |v| match v.parse::<usize>() {
                Ok(n @ 1..=64) => Ok(n),
                _ => Err("must be a whole number from 1 to 64".into()),
            })?;

        let tls = tls_files(&layers, &public_url)?;

        Ok(Settings {
            listen,
            metrics_listen,
            tls,
            public_url,
            data_dir,
            database_url,
            root_key_file,
            idle_timeout,
            absolute_timeout,
            mail_transport,
            sign_in_code_digits,
            link_lifetime,
            attachment_max_size,
            attachments_per_message,
            eob_max_size,
            max_requests_in_flight,
            max_bulk_uploads,
            mail_from,
            smtp_timeout,
        })
    }
}

/// A path setting that may be absent.
fn optional_path(layers: &Layers, key: &'static str) -> Result<Option<PathBuf>, ConfigError> {
    match layers.get(key) {
        Some(_) => layers
            .parse(key, true, |v| {
                if v.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(PathBuf::from(v))
                }
            })
            .map(Some),
        None => Ok(None),
    }
}

/// `smtp_username` with `smtp_password_file` or `PORTICO_SMTP_PASSWORD`: all or none.
fn smtp_credentials(layers: &Layers) -> Result<Option<(String, SmtpPassword)>, ConfigError> {
    let invalid = |key: &str, from: Source, problem: &str| ConfigError::Invalid {
        key: key.into(),
        from,
        problem: problem.into(),
    };
    let file = optional_path(layers, "smtp_password_file")?;
    let password = match (file, &layers.smtp_password) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "smtp_password_file",
                Source::Env(SMTP_PASSWORD_VAR.into()),
                "give the SMTP password once: in smtp_password_file or in PORTICO_SMTP_PASSWORD, not both",
            ))
        }
        (Some(path), None) => Some(SmtpPassword::File(path)),
        (None, Some(value)) => Some(SmtpPassword::Value(value.clone())),
        (None, None) => None,
    };
    let username = layers.get("smtp_username").map(|(v, s)| (v.trim(), s));
    match (username, password) {
        (Some((name, _)), Some(password)) if !name.is_empty() => {
            Ok(Some((name.to_owned(), password)))
        }
        (Some((_, from)), _) => Err(invalid(
            "smtp_username",
            from.clone(),
            "needs a password too (smtp_password_file or PORTICO_SMTP_PASSWORD), and must not be empty",
        )),
        (None, Some(_)) => Err(invalid(
            "smtp_username",
            Source::Default,
            "is missing: an SMTP password was given without a user name",
        )),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_sqlite_under_data_with_fifteen_minute_idle_timeout() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.database_url.expose(), "sqlite://./data/portico.db");
        assert_eq!(s.root_key_file, None, "master.key in the data directory");
        assert_eq!(s.sign_in_code_digits, 6);
        assert_eq!(s.link_lifetime, Duration::from_secs(30 * 24 * 3600));
        let eight = Settings::load(None, env(&[("PORTICO_SIGN_IN_CODE_DIGITS", "8")])).unwrap();
        assert_eq!(eight.sign_in_code_digits, 8);
        let nine = Settings::load(None, env(&[("PORTICO_SIGN_IN_CODE_DIGITS", "9")])).unwrap_err();
        assert!(nine.to_string().contains("6, 7 or 8"), "{nine}");
        assert_eq!(s.idle_timeout, Duration::from_secs(15 * 60));
        assert_eq!(s.absolute_timeout, Duration::from_secs(12 * 3600));
        assert_eq!(s.mail_transport, MailTransport::File);
        assert!(!s.is_https());
    }

    #[test]
    fn tls_needs_both_files_and_an_https_address() {
        let https = ("PORTICO_PUBLIC_URL", "https://portal.example.org");
        let cert = ("PORTICO_TLS_CERT_FILE", "/etc/portico/cert.pem");
        let key = ("PORTICO_TLS_KEY_FILE", "/etc/portico/key.pem");
        let s = Settings::load(None, env(&[https, cert, key])).unwrap();
        let tls = s.tls.as_ref().expect("TLS is configured");
        assert_eq!(tls.cert_file, PathBuf::from("/etc/portico/cert.pem"));
        assert_eq!(tls.key_file, PathBuf::from("/etc/portico/key.pem"));
        assert!(s.is_https(), "HSTS and secure cookies follow");
        let no_key = Settings::load(None, env(&[https, cert])).unwrap_err();
        assert_eq!(no_key.key(), Some("tls_key_file"), "{no_key}");
        let no_cert = Settings::load(None, env(&[https, key])).unwrap_err();
        assert_eq!(no_cert.key(), Some("tls_cert_file"), "{no_cert}");
        let http = Settings::load(None, env(&[cert, key])).unwrap_err();
        assert_eq!(http.key(), Some("public_url"), "{http}");
        assert!(http.to_string().contains("https://"), "{http}");
        assert_eq!(Settings::load(None, env(&[])).unwrap().tls, None);
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let file = "idle_timeout = \"20m\"\ndata_dir = \"/srv/portico\"\n";
        let s = Settings::load(
            Some((Path::new("portico.toml"), file)),
            env(&[("PORTICO_IDLE_TIMEOUT", "30m"), ("HOME", "/root")]),
        )
        .unwrap();
        assert_eq!(s.idle_timeout, Duration::from_secs(30 * 60));
        assert_eq!(s.data_dir, PathBuf::from("/srv/portico"));
        assert_eq!(s.database_url.expose(), "sqlite:///srv/portico/portico.db");
    }

    #[test]
    fn a_bad_duration_is_refused_naming_the_setting_and_its_variable() {
        let err = Settings::load(None, env(&[("PORTICO_IDLE_TIMEOUT", "soon")])).unwrap_err();
        assert_eq!(err.key(), Some("idle_timeout"));
        let line = err.to_string();
        assert!(line.contains("`idle_timeout`"), "{line}");
        assert!(line.contains("PORTICO_IDLE_TIMEOUT"), "{line}");
        assert!(line.contains("\"soon\""), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_file() {
        let err = Settings::load(
            Some((Path::new("/etc/portico.toml"), "listen = \"here\"")),
            env(&[]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("listen"));
        assert!(err.to_string().contains("/etc/portico.toml"));
    }

    #[test]
    fn unknown_settings_are_refused_rather_than_ignored() {
        let err = Settings::load(
            Some((Path::new("p.toml"), "idle_timout = \"5m\"")),
            env(&[]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown setting `idle_timout`"),
            "{err}"
        );
        let err = Settings::load(None, env(&[("PORTICO_LISTNE", "127.0.0.1:1")])).unwrap_err();
        assert_eq!(err.key(), Some("listne"));
    }

    #[test]
    fn an_absolute_timeout_shorter_than_the_idle_timeout_is_refused() {
        let err = Settings::load(
            None,
            env(&[
                ("PORTICO_IDLE_TIMEOUT", "30m"),
                ("PORTICO_ABSOLUTE_TIMEOUT", "10m"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("absolute_timeout"));
    }

    #[test]
    fn a_database_password_never_appears_in_errors_or_debug_output() {
        let err = Settings::load(
            None,
            env(&[("PORTICO_DATABASE_URL", "mysql://u:hunter2@db/p")]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("database_url"));
        assert!(!err.to_string().contains("hunter2"));

        let s = Settings::load(
            None,
            env(&[("PORTICO_DATABASE_URL", "postgres://u:hunter2@db/p")]),
        )
        .unwrap();
        assert!(s.database_url.is_postgres());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.database_url.expose(), "postgres://u:hunter2@db/p");
    }

    #[test]
    fn public_url_must_be_an_http_origin_and_https_is_detected() {
        let err = Settings::load(None, env(&[("PORTICO_PUBLIC_URL", "ftp://portal")])).unwrap_err();
        assert_eq!(err.key(), Some("public_url"));
        let err = Settings::load(
            None,
            env(&[("PORTICO_PUBLIC_URL", "https://portal.example/app")]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("public_url"));
        let s = Settings::load(
            None,
            env(&[("PORTICO_PUBLIC_URL", "https://portal.example")]),
        )
        .unwrap();
        assert!(s.is_https());
    }

    fn smtp(s: &Settings) -> &SmtpSettings {
        match &s.mail_transport {
            MailTransport::Smtp(smtp) => smtp,
            MailTransport::File => panic!("expected smtp"),
        }
    }

    #[test]
    fn attachment_limits_take_sizes_and_counts() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(
            (s.attachment_max_size, s.attachments_per_message),
            (25_000_000, 10)
        );
        let s = Settings::load(
            None,
            env(&[
                ("PORTICO_ATTACHMENT_MAX_SIZE", "500kb"),
                ("PORTICO_ATTACHMENTS_PER_MESSAGE", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (s.attachment_max_size, s.attachments_per_message),
            (500_000, 3)
        );
        for (var, value) in [
            ("PORTICO_ATTACHMENT_MAX_SIZE", "25 parsecs"),
            ("PORTICO_ATTACHMENT_MAX_SIZE", "2GB"),
            ("PORTICO_ATTACHMENTS_PER_MESSAGE", "0"),
        ] {
            let err = Settings::load(None, env(&[(var, value)])).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&var["PORTICO_".len()..].to_lowercase()),
                "{err}"
            );
        }
    }

    #[test]
    fn mail_transport_is_file_or_an_smtp_address() {
        let s = Settings::load(
            None,
            env(&[("PORTICO_MAIL_TRANSPORT", "smtps://mail.example:2465")]),
        )
        .unwrap();
        assert_eq!(
            (smtp(&s).host.as_str(), smtp(&s).port, smtp(&s).security),
            ("mail.example", 2465, SmtpSecurity::Tls)
        );
        let s = Settings::load(
            None,
            env(&[("PORTICO_MAIL_TRANSPORT", "smtp://mail.example")]),
        )
        .unwrap();
        assert_eq!(
            (smtp(&s).port, smtp(&s).security),
            (587, SmtpSecurity::StartTls)
        );
        assert_eq!(smtp(&s).credentials, None);
        assert_eq!(s.mail_from.to_string(), "Portico <no-reply@localhost>");
        assert_eq!(s.smtp_timeout, Duration::from_secs(30));
        let err = Settings::load(None, env(&[("PORTICO_MAIL_TRANSPORT", "pigeon")])).unwrap_err();
        assert_eq!(err.key(), Some("mail_transport"));
        let err =
            Settings::load(None, env(&[("PORTICO_MAIL_FROM", "not an address")])).unwrap_err();
        assert_eq!(err.key(), Some("mail_from"));
    }

    #[test]
    fn unencrypted_smtp_only_when_asked_and_only_to_this_machine() {
        for host in ["127.0.0.1:2525", "localhost:2525", "[::1]:2525"] {
            let value = format!("smtp+insecure://{host}");
            let s = Settings::load(None, env(&[("PORTICO_MAIL_TRANSPORT", &value)])).unwrap();
            assert_eq!(smtp(&s).security, SmtpSecurity::InsecureLoopback, "{host}");
            assert_eq!(smtp(&s).port, 2525);
        }
        for host in ["mail.example", "10.0.0.5", "localhost.example.org"] {
            let value = format!("smtp+insecure://{host}:25");
            let err = Settings::load(None, env(&[("PORTICO_MAIL_TRANSPORT", &value)])).unwrap_err();
            assert_eq!(err.key(), Some("mail_transport"), "{host}");
            let line = err.to_string();
            assert!(
                line.contains("only to this machine") && line.contains(host),
                "{line}"
            );
        }
    }

    #[test]
    fn an_smtp_password_never_appears_in_the_address_errors_or_debug_output() {
        let err = Settings::load(
            None,
            env(&[("PORTICO_MAIL_TRANSPORT", "smtp://user:hunter2@mail.example")]),
        )
        .unwrap_err();
        assert_eq!(err.key(), Some("mail_transport"));
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let s = Settings::load(
            None,
            env(&[
                ("PORTICO_MAIL_TRANSPORT", "smtp://mail.example"),
                ("PORTICO_SMTP_USERNAME", "portal"),
                ("PORTICO_SMTP_PASSWORD", "hunter2"),
            ]),
        )
        .unwrap();
        let (user, password) = smtp(&s).credentials.clone().unwrap();
        assert_eq!(user, "portal");
        assert!(matches!(password, SmtpPassword::Value(ref v) if v.as_str() == "hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));

        let file = "smtp_password = \"hunter2\"\n";
        let err = Settings::load(Some((Path::new("p.toml"), file)), env(&[])).unwrap_err();
        assert!(err.to_string().contains("smtp_password_file"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn smtp_credentials_come_as_a_pair_and_the_password_once() {
        let base = [("PORTICO_MAIL_TRANSPORT", "smtps://mail.example")];
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Settings::load(None, env(&pairs))
        };
        let s = with(&[
            ("PORTICO_SMTP_USERNAME", "portal"),
            ("PORTICO_SMTP_PASSWORD_FILE", "/run/secrets/smtp"),
            ("PORTICO_SMTP_CA_FILE", "/etc/portico/ca.pem"),
        ])
        .unwrap();
        assert_eq!(
            smtp(&s).credentials,
            Some((
                "portal".into(),
                SmtpPassword::File("/run/secrets/smtp".into())
            ))
        );
        assert_eq!(smtp(&s).ca_file, Some(PathBuf::from("/etc/portico/ca.pem")));
        let alone = with(&[("PORTICO_SMTP_USERNAME", "portal")]).unwrap_err();
        assert_eq!(alone.key(), Some("smtp_username"));
        let nameless = with(&[("PORTICO_SMTP_PASSWORD", "x")]).unwrap_err();
        assert_eq!(nameless.key(), Some("smtp_username"));
        let twice = with(&[
            ("PORTICO_SMTP_USERNAME", "portal"),
            ("PORTICO_SMTP_PASSWORD", "x"),
            ("PORTICO_SMTP_PASSWORD_FILE", "/run/secrets/smtp"),
        ])
        .unwrap_err();
        assert_eq!(twice.key(), Some("smtp_password_file"));
        let err = with(&[("PORTICO_SMTP_TIMEOUT", "50ms")]).unwrap_err();
        assert_eq!(err.key(), Some("smtp_timeout"));
    }

    #[test]
    fn a_malformed_file_is_refused_naming_the_file() {
        let err = Settings::load(Some((Path::new("p.toml"), "listen = ")), env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }));
        assert!(err.to_string().starts_with("configuration file p.toml:"));
    }
}
