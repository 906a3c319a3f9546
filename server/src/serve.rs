//! Starting and stopping the server.

use std::{net::SocketAddr, path::Path, sync::Arc};

use portico_core::{
    audit::AuditLog,
    auth::{passkeys::Passkeys, passwords::Passwords},
    config::Settings,
    store::Store,
    vault::{RootKeyring, Vault},
};
use tokio::net::TcpListener;

use crate::{http, ServerError};

/// Creates the data directory, readable by this user only, when it is missing.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(ServerError::io(format!("data directory {}", dir.display())))
}

/// Opens the database and brings its schema up to date.
pub async fn open_store(settings: &Settings) -> Result<Store, ServerError> {
    prepare_data_dir(&settings.data_dir)?;
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    Ok(store)
}

/// What every request and command works with: the database, the vault (root key
/// loaded and checked) and the audit log's writer.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub audit: AuditLog,
    /// The WebAuthn relying party for this portal's public address.
    pub passkeys: Arc<Passkeys>,
    /// Staff password checks, behind their bounded gate.
    pub passwords: Arc<Passwords>,
}

impl Services {
    /// Opens the database (migrating it), loads the root keyring and the vault,
    /// and starts the audit writer. A root key file that others can read, of the
    /// wrong length, or not the one the database was sealed under stops here.
    pub async fn open(settings: &Settings) -> Result<Self, ServerError> {
        let store = open_store(settings).await?;
        let keyring = RootKeyring::open(&settings.data_dir, settings.root_key_file.as_deref())?;
        let vault = Arc::new(Vault::load(store.clone(), keyring).await?);
        let audit = AuditLog::start(store.clone());
        let passkeys = Arc::new(Passkeys::new(&settings.public_url)?);
        Ok(Self {
            store,
            vault,
            audit,
            passkeys,
            passwords: Arc::new(Passwords::new()),
        })
    }

    /// Messaging with these services and settings (link lifetime, attachment limits).
    pub fn messaging<'a>(&'a self, settings: &Settings) -> portico_core::messages::Messaging<'a> {
        portico_core::messages::Messaging {
            store: &self.store,
            vault: &self.vault,
            audit: &self.audit,
            link_lifetime: settings.link_lifetime,
            attachment_limits: settings.attachment_limits(),
        }
    }

    /// Removes expired sessions, recording each signed-in one as ended by the
    /// idle timeout.
    pub async fn expire_sessions(&self) -> Result<(), ServerError> {
        use portico_core::{
            audit::{Action, Actor, AuditEvent, Outcome},
            auth::sessions::SessionRecords,
        };
        for person in SessionRecords(&self.store).delete_expired().await? {
            let actor = match person.split_once(':') {
                Some(("staff", id)) => Actor::staff(id),
                Some((_, id)) => Actor::patient(id),
                None => continue,
            };
            let event = AuditEvent::new(actor, Action::SessionExpired, Outcome::Success)
                .about("reason:idle_timeout");
            self.audit.record(event).await?;
        }
        Ok(())
    }

    /// Writes the queued audit events, then closes the database.
    pub async fn close(self) {
        self.audit.shutdown().await;
        self.store.close().await;
    }
}

/// `portico migrate`.
pub async fn migrate(settings: &Settings) -> Result<(), ServerError> {
    let store = open_store(settings).await?;
    store.close().await;
    tracing::info!("database schema is up to date");
    Ok(())
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    /// `/metrics`, on its own address when `metrics_listen` is set.
    monitoring: Option<(TcpListener, axum::Router)>,
    /// The certificate and key, when the portal serves https itself.
    tls: Option<(
        portico_core::config::TlsFiles,
        axum_server::tls_rustls::RustlsConfig,
    )>,
}

impl Server {
    pub async fn bind(settings: Settings, services: Services) -> Result<Self, ServerError> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(ServerError::io(format!(
                "listen address {}",
                settings.listen
            )))?;
        crate::metrics::install();
        let monitoring = match settings.metrics_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(ServerError::io(format!("metrics address {addr}")))?;
                Some((listener, crate::metrics::router(services.clone())))
            }
            None => None,
        };
        let tls = match &settings.tls {
            Some(files) => Some((files.clone(), crate::tls::load(files)?)),
            None => None,
        };
        let router = http::router(http::AppState::new(settings, services));
        Ok(Self {
            listener,
            router,
            monitoring,
            tls,
        })
    }

    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.monitoring
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener
            .local_addr()
            .map_err(ServerError::io("listen address"))
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        // Monitoring answers until the portal itself has stopped.
        let monitoring = self.monitoring.map(|(listener, router)| {
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            })
        });
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = match self.tls {
            None => axum::serve(self.listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ServerError::io("serving")),
            Some((_, config)) => {
                let handle = axum_server::Handle::new();
                let stopping = handle.clone();
                tokio::spawn(async move {
                    shutdown.await;
                    // Requests under way get as long to finish as on plain http.
                    stopping.graceful_shutdown(None);
                });
                let listener = self
                    .listener
                    .into_std()
                    .map_err(ServerError::io("listen address"))?;
                axum_server::from_tcp_rustls(listener, config)
                    .handle(handle)
                    .serve(app)
                    .await
                    .map_err(ServerError::io("serving https"))
            }
        };
        if let Some(task) = monitoring {
            task.abort();
        }
        served
    }
}

/// `portico serve`: runs until SIGTERM or SIGINT.
pub async fn serve(settings: Settings) -> Result<(), ServerError> {
    let services = Services::open(&settings).await?;
    let public_url = settings.public_url.clone();
    let workers = crate::workers::start(&settings, &services)?;
    let server = Server::bind(settings, services.clone()).await?;
    let signal = shutdown_signal()?;
    // The signal stops the mail sender at once (after the email in hand) while
    // requests under way finish.
    let stop_mail = workers.stopper();
    let shutdown = async move {
        signal.await;
        stop_mail();
    };
    if let Some((files, config)) = &server.tls {
        crate::tls::reload_on_sighup(files.clone(), config.clone())?;
    }
    tracing::info!(address = %server.local_addr()?, tls = server.tls.is_some(), "Portico is listening");
    if let Some(addr) = server.metrics_addr() {
        tracing::info!(address = %addr, "metrics are served at /metrics");
    }
    println!("Portico is ready at {public_url}");
    server.run(shutdown).await?;
    workers.stop().await;
    services.close().await;
    tracing::info!("Portico stopped");
    Ok(())
}

/// Listens for SIGTERM and SIGINT at once, and returns a future that completes
/// on the first of them. Installed before the portal says it is ready, so a
/// supervisor's SIGTERM right after "ready" still shuts it down gracefully.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServerError::io("SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServerError::io("SIGINT handler"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received; finishing requests under way"),
            _ = int.recv() => tracing::info!("SIGINT received; finishing requests under way"),
        }
    })
}
